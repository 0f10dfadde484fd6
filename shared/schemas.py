"""Canonical transcript model passed between services. Times are integer milliseconds from the
session start, so live segments, batch segments and the stored recording line up."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

# LiveKit identity of a bridged ESP32 microphone ("device-<id>"): a shared microphone, several voices.
DEVICE_IDENTITY_PREFIX = "device-"


class _Timed(BaseModel):
    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)

    @model_validator(mode="after")
    def _end_after_start(self) -> _Timed:
        if self.end_ms < self.start_ms:
            raise ValueError(f"end_ms ({self.end_ms}) is before start_ms ({self.start_ms})")
        return self

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


class Word(_Timed):
    text: str
    prob: float | None = Field(default=None, ge=0.0, le=1.0)
    speaker: str | None = None


class Segment(_Timed):
    id: str
    session_id: str | None = None
    speaker: str | None = None
    text: str
    is_final: bool = True
    language: str | None = None
    words: list[Word] = Field(default_factory=list)


class Speaker(BaseModel):
    label: str  # stable machine label: participant identity or "SPEAKER_00"
    display_name: str | None = None
    total_ms: int = Field(default=0, ge=0)


class Transcript(BaseModel):
    session_id: str | None = None
    language: str | None = None
    duration_ms: int = Field(default=0, ge=0)
    segments: list[Segment] = Field(default_factory=list)
    speakers: list[Speaker] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


class Job(BaseModel):
    id: str
    kind: str
    status: JobStatus = JobStatus.queued
    stage: str | None = None
    progress: float = Field(default=0.0, ge=0.0, le=100.0)
    session_id: str | None = None
    error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    result: dict[str, Any] | None = None
