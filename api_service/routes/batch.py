"""Batch transcription: upload (202 at once; the work runs in the batch worker), job status and
progress (also as server-sent events), cancel, and re-transcription into a new version."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import AudioFile, Job, MeetingSession, Webhook, WebhookDelivery
from api_service.deps import (
    CurrentUserDep,
    DbDep,
    QuotasDep,
    RedisDep,
    SessionmakerDep,
    SettingsDep,
    StorageDep,
    StreamDbDep,
    not_found,
    owned_session,
    session_vocabulary,
)
from api_service.domain import redaction as redaction_domain
from api_service.domain import uploads as uploads_domain
from api_service.domain.status import change_status, fail
from api_service.jobs import queue
from api_service.jobs.pipeline import transcribe_upload
from api_service.ratelimit import limit
from api_service.schemas.jobs import Accepted, JobOut, Retranscribe
from api_service.schemas.webhooks import DeliveryOut
from api_service.transcripts import latest_version
from api_service.webhooks import MAX_URL_LENGTH, check_target
from shared.contracts.internal import SessionStatus
from shared.contracts.jobs import JobStatus, TranscribeParams
from shared.contracts.redaction import RedactionPolicy
from shared.contracts.vocabulary import MAX_TERM_CHARS, MAX_TERMS, VocabularyError, clean_vocabulary
from shared.errors import Refused

router = APIRouter(tags=["batch"])
# Routes whose body is an audio file: included with the upload limit, not the JSON one.
uploads = APIRouter(tags=["batch"])


async def enqueue_or_503(session: AsyncSession, job: Job) -> None:
    if not await queue.enqueue(session, job.id, transcribe_upload.send):
        raise Refused(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "service_unavailable",
            queue.QUEUE_DOWN,
            {"service": "queue"},
            {"Retry-After": "60"},
        )


@uploads.post("/api/v1/transcriptions/batch", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
async def upload(
    request: Request,
    user: CurrentUserDep,
    session: DbDep,
    settings: SettingsDep,
    storage: StorageDep,
    redis: RedisDep,
    quotas: QuotasDep,
    audio_file: Annotated[UploadFile, File(description="WAV, FLAC, OGG, MP3, M4A, WebM, …: checked by content")],
    title: Annotated[str | None, Form(max_length=200)] = None,
    language: Annotated[str | None, Form(max_length=16)] = None,
    template_id: Annotated[str | None, Form(max_length=36)] = None,
    num_speakers: Annotated[int | None, Form(ge=1, le=20)] = None,
    vocabulary: Annotated[
        list[str] | None,
        Form(
            description=f"names and terms to recognise (people, products, jargon): repeat the field, or separate terms "
            f"with commas or new lines; at most {MAX_TERMS} terms of at most {MAX_TERM_CHARS} characters. Left out: "
            "the template's"
        ),
    ] = None,
    webhook_url: Annotated[
        str | None,
        Form(
            max_length=MAX_URL_LENGTH,
            description="told `session.completed` or `job.failed` for this job (signed with the webhook_secret in the answer)",
        ),
    ] = None,
    redaction: Annotated[
        str | None,
        Form(
            max_length=10_000,
            description='what to hide from the transcript, as JSON: {"enabled": true, "kinds": ["email", "phone", "card", '
            '"account"], "terms": ["…"]}. Left out: your default (GET /api/v1/me/redaction)',
        ),
    ] = None,
) -> Accepted:
    await limit(request, redis, "upload", settings.upload_rate_limit_per_minute, user.id)
    await quotas.charge(user.id, "uploads")
    template_id = template_id or None
    terms = await session_vocabulary(session, upload_vocabulary(vocabulary), template_id, user.id)
    webhook_url = (webhook_url or "").strip() or None
    if webhook_url and (problem := await check_target(webhook_url, settings.webhook_allow_private_targets)):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, problem)
    policy = await redaction_domain.new_session_policy(session, upload_redaction(redaction), user.id)
    upload = uploads_domain.Upload(
        audio_file.file, audio_file.filename, title, language, template_id, num_speakers, webhook_url, terms, policy
    )
    accepted = await uploads_domain.accept(session, storage, settings, quotas, user.id, upload)
    await enqueue_or_503(session, accepted.job)
    return Accepted(job_id=accepted.job.id, session_id=accepted.session.id, webhook_secret=accepted.webhook_secret)


def upload_vocabulary(fields: list[str] | None) -> list[str] | None:
    """The upload's vocabulary fields as one list (each may hold several terms, a line or a comma
    apart), or None when the upload has none."""
    if fields is None:
        return None
    try:
        return clean_vocabulary([term for field in fields for line in field.splitlines() for term in line.split(",")])
    except VocabularyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None


def upload_redaction(field: str | None) -> RedactionPolicy | None:
    """The upload's redaction field (a policy as JSON), or None when it has none."""
    if field is None or not field.strip():
        return None
    try:
        return RedactionPolicy.model_validate_json(field)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        detail = error["msg"] if error["type"].startswith("redaction") else f"{where}: {error['msg']}" if where else error["msg"]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"The redaction field is not a policy: {detail}") from None


async def owned_job(session: AsyncSession, job_id: str, user_id: str) -> Job:
    job = await session.get(Job, job_id)
    if job is None or job.user_id != user_id:
        raise not_found("job")
    return job


@router.get("/api/v1/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: str, user: CurrentUserDep, session: DbDep) -> JobOut:
    return JobOut.model_validate(await owned_job(session, job_id, user.id))


@router.get("/api/v1/jobs/{job_id}/deliveries", response_model=list[DeliveryOut])
async def job_deliveries(job_id: str, user: CurrentUserDep, session: DbDep) -> list[DeliveryOut]:
    """The delivery log of the job's own webhook_url (empty when the upload named none)."""
    await owned_job(session, job_id, user.id)
    rows = (
        await session.execute(
            select(WebhookDelivery)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(Webhook.job_id == job_id, Webhook.user_id == user.id)
            .order_by(WebhookDelivery.created_at.desc())
            .limit(200)
        )
    ).scalars()
    return [DeliveryOut.model_validate(r) for r in rows]


@router.post("/api/v1/jobs/{job_id}/cancel", response_model=JobOut)
async def cancel_job(job_id: str, user: CurrentUserDep, session: DbDep) -> JobOut:
    job = await owned_job(session, job_id, user.id)
    if JobStatus(job.status).finished:
        raise HTTPException(status.HTTP_409_CONFLICT, f"the job is already {job.status}")
    job.status = JobStatus.cancelled
    if job.session_id and (row := await session.get(MeetingSession, job.session_id)) is not None:
        fail(row, "cancelled by the user")
    await session.commit()
    return JobOut.model_validate(job)


@router.get("/api/v1/jobs/{job_id}/events")
async def job_events(
    job_id: str, request: Request, user: CurrentUserDep, session: StreamDbDep, sessions: SessionmakerDep
) -> StreamingResponse:
    await owned_job(session, job_id, user.id)

    async def feed() -> AsyncIterator[str]:
        last = None
        while not await request.is_disconnected():
            async with sessions() as fresh:
                job = await fresh.get(Job, job_id)
            assert job is not None
            state = JobOut.model_validate(job).model_dump(mode="json")
            snapshot = (state["status"], state["stage"], state["progress"])
            if snapshot != last:
                last = snapshot
                yield f"event: {'job.failed' if job.status == 'failed' else 'progress'}\ndata: {json.dumps(state)}\n\n"
            if JobStatus(job.status).finished:
                return
            await asyncio.sleep(0.5)

    return StreamingResponse(feed(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.post("/api/v1/sessions/{session_id}/retranscribe", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
async def retranscribe(session_id: str, body: Retranscribe, user: CurrentUserDep, session: DbDep) -> Accepted:
    """Run the pipeline again; the result is a new transcript version, the earlier one is kept."""
    row = await owned_session(session, session_id, user.id)
    audio = (
        (await session.execute(select(AudioFile).where(AudioFile.session_id == row.id).order_by(AudioFile.created_at)))
        .scalars()
        .first()
    )
    if audio is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "this session has no stored recording to transcribe again")
    unfinished = select(Job).where(Job.session_id == row.id, Job.status.in_([JobStatus.queued, JobStatus.running]))
    if (await session.execute(unfinished)).first():
        raise HTTPException(status.HTTP_409_CONFLICT, "a job for this session is already running")
    version = await latest_version(session, row.id) + 1
    job = Job(
        user_id=user.id,
        session_id=row.id,
        kind="retranscribe",
        params=TranscribeParams(
            audio_file_id=audio.id, language=body.language or row.language, num_speakers=body.num_speakers, version=version
        ).model_dump(exclude_unset=True),
    )
    change_status(row, SessionStatus.processing)
    session.add(job)
    await session.commit()
    await enqueue_or_503(session, job)
    return Accepted(job_id=job.id, session_id=row.id)
