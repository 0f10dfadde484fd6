"""Accepting a batch upload: the session, the stored recording (checked by content, counted
against the audio-minutes quota), the transcription job and, when the upload names one, the
job's own webhook, all in one transaction. Leaving with an exception removes what was stored:
nothing is half-created. Handing the job to the queue is the caller's next step."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import AudioFile, Job, MeetingSession, Webhook
from api_service.quotas import Quotas
from api_service.settings import APISettings
from api_service.storage import AudioStorage
from shared.audio import probe_audio
from shared.contracts.internal import SessionStatus
from shared.contracts.jobs import TranscribeParams
from shared.contracts.webhooks import JOB_EVENTS

# Every upload is stored as "<session id>/<random>.audio", whatever the user called it: the
# user's file name never reaches a decoder.
STORED_SUFFIX = ".audio"


@dataclass(frozen=True)
class Upload:
    file: BinaryIO
    filename: str | None
    title: str | None = None
    language: str | None = None
    template_id: str | None = None
    num_speakers: int | None = None
    webhook_url: str | None = None  # already checked as a webhook target
    vocabulary: list[str] = field(default_factory=list)  # already checked
    redaction: dict[str, Any] = field(default_factory=dict)  # a policy, as stored


@dataclass(frozen=True)
class Accepted:
    job: Job
    session: MeetingSession
    webhook_secret: str | None  # shown to the user once


async def accept(
    db: AsyncSession, storage: AudioStorage, settings: APISettings, quotas: Quotas, user_id: str, upload: Upload
) -> Accepted:
    row = MeetingSession(
        user_id=user_id,
        title=upload.title or Path(upload.filename or "Upload").stem[:200] or "Upload",
        language=upload.language,
        template_id=upload.template_id,
        vocabulary=upload.vocabulary,
        redaction=upload.redaction,
        source="upload",
        status=SessionStatus.processing,
    )
    db.add(row)
    await db.flush()
    webhook_secret = secrets.token_urlsafe(32) if upload.webhook_url else None
    try:
        async with storage.receive(upload.file, row.id, STORED_SUFFIX, settings.batch_max_upload_bytes) as received:
            info = await asyncio.to_thread(probe_audio, received.path, settings.audio_limits(settings.batch_max_upload_bytes))
            await quotas.charge(user_id, "audio_minutes", (info.duration_s or 0) / 60)
            content_type = f"audio/{info.container.split(',')[0]}"
            await storage.store(received, content_type)
            audio = AudioFile(
                session_id=row.id,
                track="upload",
                storage_key=received.key,
                content_type=content_type,
                bytes=received.size,
                duration_ms=int((info.duration_s or 0) * 1000),
            )
            db.add(audio)
            await db.flush()
            params = TranscribeParams(
                audio_file_id=audio.id,
                language=upload.language,
                num_speakers=upload.num_speakers,
                version=1,
                webhook_url=upload.webhook_url,
            )
            job = Job(user_id=user_id, session_id=row.id, kind="transcribe", params=params.model_dump())
            db.add(job)
            await db.flush()
            if upload.webhook_url and webhook_secret:
                db.add(Webhook(user_id=user_id, url=upload.webhook_url, secret=webhook_secret, events=JOB_EVENTS, job_id=job.id))
            await db.commit()
    except Exception:
        await db.rollback()
        raise
    return Accepted(job, row, webhook_secret)
