"""What the agent sends the API's ``/internal/v1`` routes (service credentials, not user tokens),
and the session status those calls change."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from shared.contracts.redaction import RedactionPolicy


class SessionStatus(StrEnum):
    created = "created"
    live = "live"
    processing = "processing"
    completed = "completed"
    failed = "failed"


class SessionInfo(BaseModel):
    """``GET /internal/v1/sessions/{id}``: what the agent needs to transcribe a session."""

    id: str
    user_id: str
    language: str | None
    status: SessionStatus
    title: str
    template_id: str | None
    # How far the session's clock has run: a restarted agent job continues from here.
    duration_ms: int = 0
    # Names and terms its speech-to-text is biased toward (``shared.contracts.vocabulary``).
    vocabulary: list[str] = Field(default_factory=list)
    # What the agent hides from captions and from what it keeps (``shared.contracts.redaction``).
    redaction: RedactionPolicy = Field(default_factory=RedactionPolicy)


class WordIn(BaseModel):
    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)
    text: str
    prob: float | None = None


class SegmentIn(BaseModel):
    """A final segment as stored: ``segment_id`` makes storing it again a no-op."""

    segment_id: str = Field(min_length=1, max_length=96)
    speaker: str | None = Field(default=None, max_length=128)
    # The name people see for ``speaker`` (a participant's name at join, never its identity): the
    # session keeps the first one it is given, and a rename by the user wins over it.
    speaker_name: str | None = Field(default=None, max_length=200)
    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)
    text: str = Field(max_length=20000)
    language: str | None = Field(default=None, max_length=16)
    words: list[WordIn] = Field(default_factory=list, max_length=5000)


class SegmentBatch(BaseModel):
    segments: list[SegmentIn] = Field(max_length=500)


class SegmentsStored(BaseModel):
    stored: int
    duplicates: int


class StatusChange(BaseModel):
    status: SessionStatus
    error: str | None = Field(default=None, max_length=2000)
    duration_ms: int | None = Field(default=None, ge=0)

    @field_validator("status")
    @classmethod
    def _not_back_to_created(cls, status: SessionStatus) -> SessionStatus:
        if status is SessionStatus.created:
            raise ValueError("a session cannot be set back to created")
        return status


class StatusOut(BaseModel):
    status: SessionStatus


class RecordingStored(BaseModel):
    id: str
    duration_ms: int


class ChatQuestion(BaseModel):
    """A question typed in a meeting's chat to the agent (without the ``@notes`` that addressed it)."""

    question: str = Field(min_length=1, max_length=2000)


class ChatAnswer(BaseModel):
    """The reply the agent posts in the chat, as the API wrote it (citations as ``[mm:ss] Speaker``)."""

    text: str
