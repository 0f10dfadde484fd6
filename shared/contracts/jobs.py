"""The parameters a batch job is stored and queued with (``Job.params``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TranscribeParams(BaseModel):
    """A ``transcribe`` (upload) or ``retranscribe`` job: which recording, as which version."""

    audio_file_id: str
    language: str | None = None
    num_speakers: int | None = Field(default=None, ge=1, le=32)
    version: int | None = Field(default=None, ge=1)
    webhook_url: str | None = None


class PostMeetingParams(BaseModel):
    """A ``post_meeting`` job; ``relabelled`` is how many segments re-diarization changed."""

    relabelled: int | None = None
