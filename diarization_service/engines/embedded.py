"""The embedded engine: everything ships in registry packages (Silero VAD, resemblyzer's GE2E
speaker encoder), runs on CPU, and needs no model download.

1. Speech regions from Silero VAD, padded into the surrounding pause (split at its middle).
2. Speaker embeddings: one per short region, sliding 1.5 s windows over longer ones.
3. Clustering on the reliable (≥ 1 s) windows: spectral clustering on a pruned cosine affinity
   into a few more clusters than the eigengap (or the given count) suggests, refined by k-means
   steps, then merged back while clusters are too small, too many, or alike enough to be one
   voice; short windows join their nearest speaker.
4. Re-segmentation: every 50 ms frame scores each speaker by the windows covering it, and a
   Viterbi pass with a speaker-change penalty places the turn boundaries (short back-channel
   turns survive when their evidence is strong)."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import torch
from resemblyzer import VoiceEncoder
from sklearn.cluster import KMeans

from diarization_service.engines.base import Diarization, SpeakerHints, Turn
from shared.vad import SAMPLE_RATE, speech_probabilities

log = logging.getLogger(__name__)

FRAME_S = 0.05
WINDOW_S, HOP_S = 1.5, 0.75
SINGLE_WINDOW_MAX_S = 3.0  # a region up to this long gets one embedding
RELIABLE_S = 1.0  # windows shorter than this do not shape the clusters
MIN_EMBED_S = 0.8  # resemblyzer needs this much audio; shorter clips are zero-padded
VAD_THRESHOLD, MIN_SILENCE_S, MIN_SPEECH_S, PAD_S = 0.35, 0.15, 0.2, 0.25
MERGE_SIMILARITY = 0.88  # clusters whose centroids are this alike are one voice
OVERCLUSTER = 2
MIN_CLUSTER_WINDOWS = 3
SWITCH_PENALTY = 0.15
MAX_SPEAKERS = 8


def speech_regions(audio: np.ndarray) -> list[tuple[int, int]]:
    """Speech (start, end) samples, padded by PAD_S into each neighbouring pause."""
    probs = speech_probabilities(audio)
    window = audio.size // max(1, probs.size) if probs.size else 512
    speech = probs >= VAD_THRESHOLD
    raw: list[tuple[int, int]] = []
    start, silence = None, 0
    for i, is_speech in enumerate(speech):
        if is_speech:
            start = i if start is None else start
            silence = 0
        elif start is not None:
            silence += 1
            if silence * window / SAMPLE_RATE >= MIN_SILENCE_S:
                raw.append((start * window, (i - silence + 1) * window))
                start, silence = None, 0
    if start is not None:
        raw.append((start * window, (speech.size - silence) * window))
    raw = [(s, e) for s, e in raw if (e - s) / SAMPLE_RATE >= MIN_SPEECH_S]
    pad = int(PAD_S * SAMPLE_RATE)
    regions: list[tuple[int, int]] = []
    for i, (s, e) in enumerate(raw):
        lo = max(0, s - pad) if not regions else max(regions[-1][1], s - pad, (raw[i - 1][1] + s) // 2)
        hi = min(audio.size, e + pad) if i + 1 == len(raw) else min(e + pad, (e + raw[i + 1][0]) // 2)
        regions.append((lo, hi))
    return regions


def embedding_windows(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    size, hop = int(WINDOW_S * SAMPLE_RATE), int(HOP_S * SAMPLE_RATE)
    windows: list[tuple[int, int]] = []
    for start, end in regions:
        if end - start <= SINGLE_WINDOW_MAX_S * SAMPLE_RATE:
            windows.append((start, end))
            continue
        a = start
        while True:
            b = min(end, a + size)
            windows.append((max(start, b - size), b))
            if b >= end:
                break
            a += hop
    return windows


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
    affinity = (affinity + affinity.T) / 2
    np.fill_diagonal(affinity, 0.0)
    degree = np.maximum(affinity.sum(axis=1), 1e-9)
    inv_sqrt = 1 / np.sqrt(degree)
    laplacian = np.eye(n) - inv_sqrt[:, None] * affinity * inv_sqrt[None, :]
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


def merge_clusters(x: np.ndarray, labels: np.ndarray, k_lo: int, k_hi: int) -> np.ndarray:
    """Merge the most similar pair of clusters while there are more than ``k_hi``, while a
    cluster is too small to be a speaker, or while two are alike enough to be one voice."""
    while True:
        ids = np.unique(labels)
        if len(ids) <= max(1, k_lo):
            return labels
        centroids = centroids_of(x, labels)
        similarity = centroids @ centroids.T
        np.fill_diagonal(similarity, -1.0)
        sizes = np.array([(labels == i).sum() for i in ids])
        if len(ids) > k_hi or sizes.min() < MIN_CLUSTER_WINDOWS:
            a = int(sizes.argmin()) if len(ids) <= k_hi else int(np.unravel_index(similarity.argmax(), similarity.shape)[0])
            b = int(similarity[a].argmax())
        else:
            a, b = (int(v) for v in np.unravel_index(similarity.argmax(), similarity.shape))
            if similarity[a, b] < MERGE_SIMILARITY:
                return labels
        labels = np.unique(np.where(labels == ids[a], ids[b], labels), return_inverse=True)[1]
        labels = refine(x, labels, rounds=1)


def viterbi(scores: np.ndarray, penalty: float) -> np.ndarray:
    """Best label path through (frames, speakers) scores, paying ``penalty`` per change."""
    n, k = scores.shape
    total = scores[0].copy()
    back = np.zeros((n, k), dtype=int)
    for t in range(1, n):
        stay = total
        switch = total.max() - penalty
        best_prev = np.where(stay >= switch, np.arange(k), int(total.argmax()))
        total = np.maximum(stay, switch) + scores[t]
        back[t] = best_prev
    path = np.zeros(n, dtype=int)
    path[-1] = int(total.argmax())
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


class EmbeddedEngine:
    name = "embedded"
    model = "silero-vad + resemblyzer-ge2e + spectral clustering"
    embedding_dim = 256

    def __init__(self, device: str = "auto") -> None:
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        self._encoder = VoiceEncoder(self.device, verbose=False)

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        vectors = []
        for clip in clips:
            clip = np.asarray(clip, dtype=np.float32)
            if clip.size < MIN_EMBED_S * SAMPLE_RATE:
                clip = np.pad(clip, (0, int(MIN_EMBED_S * SAMPLE_RATE) - clip.size))
            vectors.append(self._encoder.embed_utterance(clip))
        return np.array(vectors, dtype=np.float32).reshape(len(clips), self.embedding_dim)

    def diarize(self, audio: np.ndarray, hints: SpeakerHints) -> Diarization:
        regions = speech_regions(audio)
        if not regions:
            return Diarization()
        windows = embedding_windows(regions)
        x = self.embed([audio[a:b] for a, b in windows])
        labels = self._cluster(x, windows, hints)
        turns = self._resegment(audio.size, regions, windows, x, labels)
        return Diarization(turns=turns, exclusive=list(turns))

    def _cluster(self, x: np.ndarray, windows: list[tuple[int, int]], hints: SpeakerHints) -> np.ndarray:
        durations = np.array([(b - a) / SAMPLE_RATE for a, b in windows])
        # Short windows are noisy: they do not shape the clusters, they join them afterwards.
        reliable = durations >= RELIABLE_S
        if reliable.sum() < 2:
            reliable = np.ones_like(reliable)
        core = x[reliable]
        k_lo = hints.num_speakers or hints.min_speakers or 1
        k_hi = hints.num_speakers or hints.max_speakers or MAX_SPEAKERS
        # Over-cluster a little, then merge back: splitting one voice in two and re-joining it is
        # far more reliable than hoping the first cut finds every voice.
        estimate = hints.num_speakers or len(np.unique(spectral_clusters(core, None, k_lo, k_hi)))
        k_start = min(estimate + OVERCLUSTER, k_hi + OVERCLUSTER, len(core))
        labels = refine(core, spectral_clusters(core, k_start, k_start, k_start))
        labels = merge_clusters(core, labels, k_lo, k_hi)
        return (x @ centroids_of(core, labels).T).argmax(axis=1)

    def _resegment(
        self, n_samples: int, regions: list[tuple[int, int]], windows: list[tuple[int, int]], x: np.ndarray, labels: np.ndarray
    ) -> list[Turn]:
        centroids = centroids_of(x, labels)
        similarity = x @ centroids.T  # (windows, speakers)
        frame = int(FRAME_S * SAMPLE_RATE)
        turns: list[Turn] = []
        for start, end in regions:
            inside = [i for i, (a, b) in enumerate(windows) if a >= start and b <= end]
            n_frames = max(1, (end - start) // frame)
            scores = np.zeros((n_frames, len(centroids)))
            counts = np.zeros(n_frames)
            for i in inside:
                a, b = (
                    (windows[i][0] - start) // frame,
                    max((windows[i][1] - start) // frame, (windows[i][0] - start) // frame + 1),
                )
                scores[a:b] += similarity[i]
                counts[a:b] += 1
            scores /= np.maximum(counts, 1)[:, None]
            path = viterbi(scores, SWITCH_PENALTY)
            change = np.flatnonzero(np.diff(path)) + 1
            bounds = [0, *change.tolist(), n_frames]
            for a, b in itertools.pairwise(bounds):
                s = start + a * frame
                e = end if b == n_frames else start + b * frame
                turns.append(Turn(s * 1000 // SAMPLE_RATE, e * 1000 // SAMPLE_RATE, f"SPEAKER_{path[a]:02d}"))
        return _relabel_by_first_appearance(turns)


def _relabel_by_first_appearance(turns: list[Turn]) -> list[Turn]:
    """SPEAKER_00 is whoever speaks first; touching turns of one speaker become one."""
    order: dict[str, str] = {}
    merged: list[Turn] = []
    for t in turns:
        label = order.setdefault(t.speaker, f"SPEAKER_{len(order):02d}")
        if merged and merged[-1].speaker == label and merged[-1].end_ms >= t.start_ms:
            merged[-1].end_ms = max(merged[-1].end_ms, t.end_ms)
        else:
            merged.append(Turn(t.start_ms, t.end_ms, label))
    return merged
