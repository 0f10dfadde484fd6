"""The engine interface. An engine turns short clips (≤ 30 s, already cut by the service's VAD)
into text with timestamps, many clips per call where it can batch them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from shared.contracts.transcript import Word

MAX_CLIP_SECONDS = 30.0


@dataclass
class Clip:
    audio: np.ndarray  # 16 kHz mono float32, at most MAX_CLIP_SECONDS
    language: str | None = None  # ISO 639-1 ("en", "zh"); None = detect
    word_timestamps: bool = True
    prompt: str | None = None
    # Terms to bias the decode toward (names, products, jargon): the session's custom vocabulary.
    vocabulary: tuple[str, ...] = ()
    beam_size: int = 5  # 1 (greedy) for partial hypotheses, where speed beats the last bit of accuracy
    # Encode only the clip (plus a margin) rather than a full 30 s window. Whisper pads every clip
    # to 30 s, so a 3 s live utterance costs 2-3x less this way, for about one point of WER.
    short_window: bool = False
    # Decode again whatever Whisper's one pass left after its last segment (see WhisperEngine).
    # Off for live partials: the final supersedes them, and the extra pass would delay it.
    to_end: bool = True


@dataclass
class ClipSegment:
    start_ms: int  # from the clip start
    end_ms: int
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass
class ClipResult:
    language: str
    segments: list[ClipSegment]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments).strip()


class Engine(Protocol):
    name: str
    model: str
    device: str
    languages: list[str]
    max_batch_size: int

    def transcribe_clips(self, clips: list[Clip]) -> list[ClipResult]:
        """Blocking; called from the service's inference thread, never from the event loop."""
        ...

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """Language code and its probability for up to 30 s of speech (blocking)."""
        ...
