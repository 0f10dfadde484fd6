"""Words and segments as the STT service produces them. Times are integer milliseconds from the
start of the audio (or of the session, for live streams), so live segments, batch segments and
the stored recording line up."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class Timed(BaseModel):
    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)

    @model_validator(mode="after")
    def _end_after_start(self) -> Timed:
        if self.end_ms < self.start_ms:
            raise ValueError(f"end_ms ({self.end_ms}) is before start_ms ({self.start_ms})")
        return self

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


class Word(Timed):
    text: str
    prob: float | None = Field(default=None, ge=0.0, le=1.0)
    speaker: str | None = None


class Segment(Timed):
    id: str
    session_id: str | None = None
    speaker: str | None = None
    text: str
    is_final: bool = True
    language: str | None = None
    words: list[Word] = Field(default_factory=list)
