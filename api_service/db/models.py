"""Durable data. Every row a user can reach hangs off ``users.id`` (directly or through a
session), and every query in the routes is scoped by it."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.contracts.internal import SessionStatus
from shared.contracts.jobs import JobStatus


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


def new_invite_code() -> str:
    return secrets.token_urlsafe(12)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    # Empty for users who sign in through Supabase Auth (their row is made on first request).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(200))
    # The redaction policy new sessions start with (shared.contracts.redaction; {}: off).
    redaction: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=now)
    # When the password was last set by a reset (link or admin): tokens issued before it are refused.
    password_changed_at: Mapped[datetime | None] = mapped_column()


class MeetingSession(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="Untitled meeting")
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.created)
    source: Mapped[str] = mapped_column(String(16), default="live")  # live | upload | device
    template_id: Mapped[str | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"))
    # Who chose the template: "user" (named on creation or PATCHed) or "classifier" (the domain
    # classification picked it for a session that had none); None without a template.
    template_chosen_by: Mapped[str | None] = mapped_column(String(16))
    # The last domain classification: {label, domain, category, confidence, template_id, model}.
    classification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Custom vocabulary: names and terms speech-to-text is biased toward, live and in batch.
    vocabulary: Mapped[list[Any]] = mapped_column(default=list)
    # What is hidden from its transcript (shared.contracts.redaction; {}: nothing): applied by the
    # agent to captions and by the API to every segment it stores.
    redaction: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Lets people other than the owner join the live room (an invite link carries it).
    invite_code: Mapped[str] = mapped_column(String(64), default=new_invite_code)
    # The owner lets the people who joined the meeting through the invite (SessionParticipant, not
    # removed) read its transcript and summary afterwards; off by default.
    share_with_participants: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()

    segments: Mapped[list[TranscriptSegment]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True
    )
    speakers: Mapped[list[SessionSpeaker]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    @property
    def room_name(self) -> str:
        return f"intrascribe-{self.id}"


class SessionParticipant(Base):
    """Someone other than the owner who joined the session's meeting through its invite (recorded
    when they were given a LiveKit token for it): who may read a shared transcript afterwards.
    The owner's "remove" sets ``removed_at``, and a removed person stays removed."""

    __tablename__ = "session_participants"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    joined_at: Mapped[datetime] = mapped_column(default=now)
    removed_at: Mapped[datetime | None] = mapped_column()


class SessionSpeaker(Base):
    __tablename__ = "speakers"
    __table_args__ = (UniqueConstraint("session_id", "label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(128))  # participant identity or SPEAKER_00
    display_name: Mapped[str | None] = mapped_column(String(200))


class TranscriptSegment(Base):
    __tablename__ = "segments"
    # One row per (session, segment id, version): writing the same final twice is a no-op.
    __table_args__ = (
        UniqueConstraint("session_id", "segment_id", "version"),
        Index("ix_segments_session_start", "session_id", "start_ms"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    segment_id: Mapped[str] = mapped_column(String(96))
    version: Mapped[int] = mapped_column(Integer, default=1)  # a re-transcription adds a version
    speaker: Mapped[str | None] = mapped_column(String(128))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    words: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=now)

    session: Mapped[MeetingSession] = relationship(back_populates="segments")


class Template(Base):
    __tablename__ = "templates"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)  # None = system
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # What the meeting is about (sales, healthcare, support, hr, engineering, general) and what kind
    # of meeting it is there (call, appointment, interview, standup, ...): the pair is the label
    # that domain classification chooses from.
    domain: Mapped[str] = mapped_column(String(64), default="general")
    category: Mapped[str] = mapped_column(String(64), default="meeting")
    language: Mapped[str] = mapped_column(String(16), default="en")
    # [{"title": ..., "instruction": ..., "format": "paragraph|bullets|table"}]
    sections: Mapped[list[Any]] = mapped_column(default=list)
    # The seed's free-text form ("## Summary\n{summary}"), kept when given.
    template_content: Mapped[str | None] = mapped_column(Text)
    # The vocabulary a session made from this template starts with (when it names none itself).
    vocabulary: Mapped[list[Any]] = mapped_column(default=list)
    # A JSON Schema (an object) of the fields to extract from a session's transcript, or None.
    extraction_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)


class Summary(Base):
    __tablename__ = "summaries"
    __table_args__ = (UniqueConstraint("session_id", "version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[str | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"))
    model: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    markdown: Mapped[str] = mapped_column(Text, default="")
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=now)


class Extraction(Base):
    """Fields a model extracted from a session's transcript with its template's schema, valid
    against that schema (a copy is kept: the template may change later); versioned like summaries."""

    __tablename__ = "extractions"
    __table_args__ = (UniqueConstraint("session_id", "version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[str | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"))
    model: Mapped[str] = mapped_column(String(200))
    schema: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=now)


class LlmUsage(Base):
    """One language-model call: whose, for which session (if any), at which stage
    (classification, extraction, summary, title, ask, brief), its tokens and cost."""

    __tablename__ = "llm_usage"
    __table_args__ = (Index("ix_llm_usage_user_created", "user_id", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)  # sha256 of the random token
    current_session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    last_seen_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=now)


class Webhook(Base):
    __tablename__ = "webhooks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set for a batch upload's own webhook_url: it hears only about that job, and is not listed
    # among the user's webhooks.
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    delivered_at: Mapped[datetime | None] = mapped_column()


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued)
    stage: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    @property
    def webhook_url(self) -> str | None:
        return (self.params or {}).get("webhook_url")


class AudioFile(Base):
    __tablename__ = "audio_files"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    track: Mapped[str] = mapped_column(String(128), default="mix")  # participant identity, or "upload"
    # Where this recording starts on the session clock (a participant may join late).
    offset_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    storage_key: Mapped[str] = mapped_column(String(1000))
    content_type: Mapped[str] = mapped_column(String(100))
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=now)
