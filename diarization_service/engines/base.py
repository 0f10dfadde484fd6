"""The engine interface: speaker turns for a recording, and speaker embeddings for clips."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from shared.contracts.diarization import Turn

__all__ = ["ArrayAudio", "AudioSource", "Diarization", "Engine", "SpeakerHints", "Turn"]


@dataclass(frozen=True)
class SpeakerHints:
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None


class AudioSource(Protocol):
    """16 kHz mono audio read in pieces, so a long recording need not be held in memory whole."""

    @property
    def num_samples(self) -> int: ...

    def read(self, start: int, end: int) -> np.ndarray:
        """Samples [start, end) as float32."""
        ...


class ArrayAudio:
    """An AudioSource over samples already in memory."""

    def __init__(self, samples: np.ndarray) -> None:
        self._samples = np.asarray(samples, dtype=np.float32).reshape(-1)

    @property
    def num_samples(self) -> int:
        return int(self._samples.size)

    def read(self, start: int, end: int) -> np.ndarray:
        return self._samples[max(0, start) : max(0, end)]


@dataclass
class Diarization:
    turns: list[Turn] = field(default_factory=list)  # may overlap (two people at once)
    exclusive: list[Turn] = field(default_factory=list)  # one speaker at a time, for aligning words

    @property
    def speakers(self) -> list[str]:
        return sorted({t.speaker for t in self.turns})


class Engine(Protocol):
    name: str
    model: str
    device: str
    embedding_dim: int
    same_speaker: float | None  # the cosine from which two sentences' embeddings are one voice

    def diarize(self, audio: AudioSource, hints: SpeakerHints) -> Diarization:
        """Blocking."""
        ...

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        """One L2-normalised vector per clip, shape (len(clips), embedding_dim). Blocking."""
        ...
