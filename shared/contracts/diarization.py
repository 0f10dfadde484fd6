"""The diarization service's wire: ``POST /diarize`` (and ``/diarize-file``) and ``POST /embed``.
A ``Turn`` is the one speaker-turn type of the project: engines produce it, the service returns
it, the batch worker assigns words by it."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic.dataclasses import dataclass


@dataclass
class Turn:
    """``speaker`` talks from ``start_ms`` to ``end_ms`` (milliseconds from the audio start)."""

    start_ms: int
    end_ms: int
    speaker: str


class SpeakerTotal(BaseModel):
    label: str
    total_ms: int


class DiarizationResponse(BaseModel):
    session_id: str | None = None
    engine: str
    duration_ms: int
    processing_ms: int
    num_speakers: int
    speakers: list[SpeakerTotal]
    turns: list[Turn] = Field(description="speaker turns; may overlap where people talk at once")
    exclusive_turns: list[Turn] = Field(description="one speaker at a time (for assigning words)")
    rttm: str | None = None


class EmbedResponse(BaseModel):
    dim: int
    segments: list[tuple[int, int]] = Field(description="the [start_ms, end_ms] each embedding is of")
    embeddings: list[list[float]] = Field(description="L2-normalised, one per segment")
    same_speaker: float | None = Field(
        None,
        description="the cosine similarity from which two whole sentences are one voice for this engine's"
        " embeddings (null where the engine does not state one)",
    )
