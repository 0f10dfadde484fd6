"""A batch job's parameters (``Job.params``, stored and read by the worker) and its statuses."""

from __future__ import annotations

from enum import StrEnum

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


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.completed, JobStatus.failed, JobStatus.cancelled)
