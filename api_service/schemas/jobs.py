"""Batch transcription jobs: the upload's answer, a job's state, re-transcription."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    session_id: str | None
    kind: str
    status: str
    stage: str | None
    progress: float
    error: str | None
    webhook_url: str | None = None
    created_at: datetime
    updated_at: datetime


class Accepted(BaseModel):
    job_id: str
    session_id: str
    status: str = "queued"
    webhook_secret: str | None = Field(
        default=None,
        description="with a webhook_url only, shown once: deliveries to it are signed with this secret (X-Intrascribe-Signature)",
    )


class Retranscribe(BaseModel):
    language: str | None = None
    num_speakers: int | None = None
