"""Routes for our own services (per-service credentials, not user tokens): the agent writes
final segments and status changes here, and asks about the meeting for its chat."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service import assistant, lifecycle, realtime, transcripts
from api_service.db.models import AudioFile, MeetingSession
from api_service.deps import DbDep, LlmDep, QuotasDep, RedisDep, SettingsDep, StorageDep, not_found
from api_service.domain import redaction
from api_service.domain.status import change_status
from api_service.storage import StreamReader
from shared.audio import probe_audio
from shared.contracts.internal import (
    ChatAnswer,
    ChatQuestion,
    RecordingStored,
    SegmentBatch,
    SegmentsStored,
    SessionInfo,
    SessionStatus,
    StatusChange,
    StatusOut,
)

router = APIRouter(prefix="/internal/v1", tags=["internal"])
# Routes whose body is an audio file: included with the upload limit, not the JSON one.
uploads = APIRouter(prefix="/internal/v1", tags=["internal"])


async def _session(session: AsyncSession, session_id: str) -> MeetingSession:
    row = await session.get(MeetingSession, session_id)
    if row is None:
        raise not_found()
    return row


@router.get("/sessions/{session_id}", response_model=SessionInfo)
async def session_info(session_id: str, session: DbDep) -> SessionInfo:
    row = await _session(session, session_id)
    return SessionInfo(
        id=row.id,
        user_id=row.user_id,
        language=row.language,
        status=SessionStatus(row.status),
        title=row.title,
        template_id=row.template_id,
        duration_ms=row.duration_ms,
        vocabulary=list(row.vocabulary or []),
        redaction=redaction.stored_policy(row.redaction),
    )


@router.post("/sessions/{session_id}/segments", response_model=SegmentsStored)
async def add_segments(session_id: str, body: SegmentBatch, session: DbDep, redis: RedisDep) -> SegmentsStored:
    """Idempotent: a segment id already stored is ignored, so retries never duplicate. Segments
    are redacted as the session asks before they are stored or shown (the agent has done so
    already; this holds whatever sent them)."""
    row = await _session(session, session_id)
    segments = await redaction.redacted(session, session_id, body.segments)
    inserted = set(await transcripts.add_segments(session, session_id, segments))
    if row.status == SessionStatus.created:
        change_status(row, SessionStatus.live)
    row.duration_ms = max(row.duration_ms, max((s.end_ms for s in segments), default=0))
    await session.commit()
    for segment in segments:
        if segment.segment_id in inserted:
            await realtime.publish(redis, session_id, "segment", segment.model_dump())
    return SegmentsStored(stored=len(inserted), duplicates=len(body.segments) - len(inserted))


@uploads.post("/sessions/{session_id}/recordings", status_code=201, response_model=RecordingStored)
async def add_recording(
    session_id: str,
    request: Request,
    session: DbDep,
    settings: SettingsDep,
    storage: StorageDep,
    track: Annotated[str, Query(min_length=1, max_length=128)],
    offset_ms: Annotated[int, Query(ge=0, le=10**12)] = 0,
) -> RecordingStored:
    """A participant's full recording (silences included), streamed in the body as WAV. Sent
    again (the agent's outbox retries when an answer is lost), it is stored once: a track has one
    recording per offset on the session clock."""
    await _session(session, session_id)
    same = select(AudioFile).where(AudioFile.session_id == session_id, AudioFile.track == track, AudioFile.offset_ms == offset_ms)
    if (existing := (await session.execute(same)).scalars().first()) is not None:
        async for _chunk in request.stream():  # read to the end, so the sender sees an answer, not a reset
            pass
        return RecordingStored(id=existing.id, duration_ms=existing.duration_ms)
    async with storage.receive(StreamReader(request), session_id, ".wav", settings.batch_max_upload_bytes) as received:
        info = await asyncio.to_thread(
            probe_audio, received.path, settings.audio_limits(settings.batch_max_upload_bytes, min_seconds=0)
        )
        await storage.store(received, "audio/wav")
        row = AudioFile(
            session_id=session_id,
            track=track,
            storage_key=received.key,
            content_type="audio/wav",
            bytes=received.size,
            duration_ms=int((info.duration_s or 0) * 1000),
            offset_ms=offset_ms,
        )
        session.add(row)
        await session.commit()
    # A recording that arrives after the meeting ended is still transcribed again (a room
    # microphone's also re-diarized).
    meeting = await _session(session, session_id)
    if meeting.status == SessionStatus.completed:
        await lifecycle.post_process(session, meeting)
    return RecordingStored(id=row.id, duration_ms=row.duration_ms)


@router.post("/sessions/{session_id}/status", response_model=StatusOut)
async def set_status(session_id: str, body: StatusChange, session: DbDep, redis: RedisDep) -> StatusOut:
    row = await _session(session, session_id)
    was = row.status
    change_status(row, body.status, error=body.error or None)
    if body.duration_ms is not None:
        row.duration_ms = max(row.duration_ms, body.duration_ms)
    await session.commit()
    if row.status == SessionStatus.completed and was != SessionStatus.completed:
        await lifecycle.completed(session, row, redis)
    else:
        await realtime.publish(redis, session_id, "status", {"status": row.status})
    return StatusOut(status=SessionStatus(row.status))


@router.post("/sessions/{session_id}/ask", response_model=ChatAnswer)
async def ask_in_chat(session_id: str, body: ChatQuestion, session: DbDep, llm: LlmDep, quotas: QuotasDep) -> ChatAnswer:
    """A question typed in the meeting's chat: answered from the transcript so far, on the
    owner's quota, as the one message the agent posts back."""
    row = await _session(session, session_id)
    return ChatAnswer(text=await assistant.chat_reply(session, llm, quotas, row, body.question))
