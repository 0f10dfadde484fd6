"""Webhook events: each ``data`` model names its event; a delivery's body is the ``Envelope``,
signed in ``X-Intrascribe-Signature`` (``t=<unix time>,v1=<HMAC-SHA256 of "<t>." + body>``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel

Event = Literal["session.completed", "summary.ready", "job.failed"]
EVENTS: tuple[Event, ...] = get_args(Event)
# What a job's own webhook (given with the upload) is sent.
JOB_EVENTS: list[Event] = ["session.completed", "job.failed"]


class EventData(BaseModel):
    event: ClassVar[Event]


class SessionCompleted(EventData):
    event: ClassVar[Event] = "session.completed"
    session_id: str
    title: str
    source: str
    duration_ms: int
    # Set when a batch job completed the session.
    job_id: str | None = None
    segments: int | None = None
    speakers: int | None = None


class SummaryReady(EventData):
    event: ClassVar[Event] = "summary.ready"
    session_id: str
    summary_id: str
    version: int
    model: str | None
    # The session's latest extraction (the template's schema filled from the transcript), when
    # it has one: its id, version and fields.
    extraction_id: str | None = None
    extraction_version: int | None = None
    extraction: dict[str, Any] | None = None


class JobFailed(EventData):
    event: ClassVar[Event] = "job.failed"
    job_id: str
    session_id: str | None
    error: str


class Envelope(BaseModel):
    """A delivery's body (``data`` is one of the models above, as JSON)."""

    id: str
    event: Event
    created_at: datetime
    data: dict[str, Any]
