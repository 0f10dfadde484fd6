"""Speaker clustering of window embeddings for the embedded engine.

Spectral clustering on a pruned cosine affinity into a few more clusters than the eigengap (or
the given count) suggests, refined by k-means steps, then merged back while clusters are too
small, too many, or alike enough to be one voice. The affinity matrix is n x n, so beyond
MAX_SPECTRAL_WINDOWS windows (about 20 minutes of speech) an evenly spaced subsample shapes the
first cut and every window then takes part in the refinement and merging, which cost n x k."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

# Two clusters are one voice when their windows are, on average, at most ``merge_gap`` less alike
# across the pair than within each (see linkage_gaps); the gap is the speaker encoder's own
# (encoders.py), since each model spreads one voice differently.
OVERCLUSTER = 2
MIN_CLUSTER_WINDOWS = 3
# A cluster of fewer windows is still a speaker when it is clearly another voice (at least twice the
# merge gap from every other cluster) and holds this share of the windows: in a short recording a
# minor speaker may say only a sentence or two, while in a long one such a cluster is an outlier.
MIN_DISTINCT_SHARE = 0.05
MAX_SPEAKERS = 8
MAX_SPECTRAL_WINDOWS = 1500  # 1500^2 float64 = 18 MB per matrix; 4000 windows (1 h) took ~0.8 GB


def spectral_clusters(x: np.ndarray, k: int | None, k_min: int, k_max: int, prune: float = 0.3) -> np.ndarray:
    """Spectral clustering of unit vectors on a row-pruned cosine affinity; with k=None the number
    of clusters is the largest eigengap of the normalised Laplacian within [k_min, k_max]."""
    n = len(x)
    if n < 2 or k == 1:
        return np.zeros(n, dtype=int)
    similarity = np.clip(x @ x.T, 0.0, 1.0)
    keep = max(2, int(np.ceil(prune * n)))
    affinity = np.zeros_like(similarity)
    top = np.argsort(-similarity, axis=1)[:, :keep]
    rows = np.arange(n)[:, None]
    affinity[rows, top] = similarity[rows, top]
    del similarity, top
    affinity = (affinity + affinity.T) / 2
    np.fill_diagonal(affinity, 0.0)
    degree = np.maximum(affinity.sum(axis=1), 1e-9)
    inv_sqrt = 1 / np.sqrt(degree)
    laplacian = -(inv_sqrt[:, None] * affinity * inv_sqrt[None, :])
    del affinity
    laplacian[np.diag_indices(n)] += 1.0
    eigenvalues, eigenvectors = np.linalg.eigh(laplacian)
    if k is None:
        hi = min(k_max, n - 1)
        if hi < max(k_min, 2):
            return np.zeros(n, dtype=int)
        gaps = np.diff(eigenvalues[: hi + 1])
        k = int(np.argmax(gaps[k_min - 1 : hi])) + k_min if k_min > 1 else int(np.argmax(gaps[:hi])) + 1
    k = max(1, min(k, n))
    if k == 1:
        return np.zeros(n, dtype=int)
    spectral = eigenvectors[:, :k]
    spectral = spectral / (np.linalg.norm(spectral, axis=1, keepdims=True) + 1e-9)
    return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(spectral)


def centroids_of(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    c = np.array([x[labels == k].mean(axis=0) for k in np.unique(labels)])
    return c / (np.linalg.norm(c, axis=1, keepdims=True) + 1e-9)


def refine(x: np.ndarray, labels: np.ndarray, rounds: int = 3) -> np.ndarray:
    """A few k-means steps on the unit sphere: re-assign each vector to its nearest centroid."""
    for _ in range(rounds):
        labels = np.unique((x @ centroids_of(x, labels).T).argmax(axis=1), return_inverse=True)[1]
    return labels


def linkage_gaps(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """For each pair of clusters, the mean similarity of their windows across the pair minus the
    mean similarity within each (average linkage, made relative). Near zero or above: the two are
    no more different than each one is from itself, so they are one voice. Relative because the
    similarity scale moves with the recording (a phone line, a far microphone) and with the window
    length, while a speaker's spread against another's does not; computed from the clusters' mean
    vectors, so it costs n x k, not n x n."""
    ids = np.unique(labels)
    sums = np.array([x[labels == i].sum(axis=0) for i in ids])
    sizes = np.array([(labels == i).sum() for i in ids], dtype=float)
    means = sums / sizes[:, None]
    cross = means @ means.T
    within = np.array([(float(s @ s) - n) / (n * (n - 1)) if n > 1 else 1.0 for s, n in zip(sums, sizes, strict=True)])
    # A window or two say little of their voice's spread: take the typical spread of this recording's voices.
    measured = sizes >= MIN_CLUSTER_WINDOWS
    if measured.any():
        within[~measured] = within[measured].mean()
    gaps = cross - (within[:, None] + within[None, :]) / 2
    np.fill_diagonal(gaps, -np.inf)
    return np.asarray(gaps)


def merge_clusters(x: np.ndarray, labels: np.ndarray, k_lo: int, k_hi: int, merge_gap: float) -> np.ndarray:
    """Merge the least separable pair of clusters while there are more than ``k_hi``, while a
    cluster is too small to be a speaker, or while two are alike enough to be one voice."""
    while True:
        ids = np.unique(labels)
        if len(ids) <= max(1, k_lo):
            return labels
        gaps = linkage_gaps(x, labels)
        sizes = np.array([(labels == i).sum() for i in ids])
        distinct = (gaps.max(axis=1) < -2 * merge_gap) & (sizes >= MIN_DISTINCT_SHARE * len(labels))
        too_small = (sizes < MIN_CLUSTER_WINDOWS) & ~distinct
        if len(ids) > k_hi or too_small.any():
            a = (
                int(np.where(too_small, sizes, np.inf).argmin())
                if len(ids) <= k_hi
                else int(np.unravel_index(gaps.argmax(), gaps.shape)[0])
            )
            b = int(gaps[a].argmax())
        else:
            a, b = (int(v) for v in np.unravel_index(gaps.argmax(), gaps.shape))
            if gaps[a, b] < -merge_gap:
                return labels
        labels = np.unique(np.where(labels == ids[a], ids[b], labels), return_inverse=True)[1]
        labels = refine(x, labels, rounds=1)


def cluster_speakers(
    x: np.ndarray, reliable: np.ndarray, k_lo: int, k_hi: int, num_speakers: int | None, merge_gap: float
) -> np.ndarray:
    """A speaker index for every row of ``x``; only the ``reliable`` rows shape the clusters."""
    if reliable.sum() < 2:
        reliable = np.ones_like(reliable)
    core = x[reliable]
    sample = core
    if len(core) > MAX_SPECTRAL_WINDOWS:
        sample = core[np.linspace(0, len(core) - 1, MAX_SPECTRAL_WINDOWS).round().astype(int)]
    # Over-cluster a little, then merge back: splitting one voice in two and re-joining it is
    # far more reliable than hoping the first cut finds every voice.
    estimate = num_speakers or len(np.unique(spectral_clusters(sample, None, k_lo, k_hi)))
    k_start = min(estimate + OVERCLUSTER, k_hi + OVERCLUSTER, len(sample))
    labels = spectral_clusters(sample, k_start, k_start, k_start)
    if len(sample) < len(core):
        labels = (core @ centroids_of(sample, labels).T).argmax(axis=1)
    labels = refine(core, labels)
    labels = merge_clusters(core, labels, k_lo, k_hi, merge_gap)
    return np.asarray((x @ centroids_of(core, labels).T).argmax(axis=1))
