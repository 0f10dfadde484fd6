from __future__ import annotations

import json
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import select

from api_service import exports, extraction, realtime, summaries, transcripts
from api_service.db.models import AudioFile, MeetingSession, SessionStatus
from api_service.deps import (
    CurrentUserDep,
    DbDep,
    RedisDep,
    StorageDep,
    check_template,
    not_found,
    owned_session,
    session_vocabulary,
)
from api_service.domain import redaction
from api_service.domain.sessions import find_sessions, session_detail, transcript
from api_service.domain.status import change_status
from api_service.schemas.sessions import (
    RecordingOut,
    SegmentRef,
    SessionCreate,
    SessionDetail,
    SessionPage,
    SessionUpdate,
    SpeakerMerge,
    SpeakerMerged,
    SpeakerOut,
    SpeakerRename,
    SpeakerSplit,
    TranscriptOut,
)

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])


@router.post("/", response_model=SessionDetail, status_code=status.HTTP_201_CREATED)
async def create_session(body: SessionCreate, user: CurrentUserDep, session: DbDep) -> SessionDetail:
    row = MeetingSession(
        user_id=user.id,
        title=body.title or "Untitled meeting",
        language=body.language,
        template_id=body.template_id,
        vocabulary=await session_vocabulary(session, body.vocabulary, body.template_id, user.id),
        redaction=await redaction.new_session_policy(session, body.redaction, user.id),
    )
    session.add(row)
    await session.commit()
    return await session_detail(session, row)


@router.get("/", response_model=SessionPage)
async def list_sessions(
    user: CurrentUserDep,
    session: DbDep,
    q: Annotated[str | None, Query(max_length=200, description="search titles and transcripts")] = None,
    status_filter: Annotated[
        Literal["created", "live", "processing", "completed", "failed"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SessionPage:
    return await find_sessions(session, user.id, q, status_filter, limit, offset)


@router.get("/{session_id}", response_model=SessionDetail)
async def get_session(session_id: str, user: CurrentUserDep, session: DbDep) -> SessionDetail:
    return await session_detail(session, await owned_session(session, session_id, user.id))


@router.patch("/{session_id}", response_model=SessionDetail)
async def update_session(session_id: str, body: SessionUpdate, user: CurrentUserDep, session: DbDep) -> SessionDetail:
    row = await owned_session(session, session_id, user.id)
    if body.template_id is not None:
        await check_template(session, body.template_id, user.id)
        row.template_id = body.template_id
        row.template_chosen_by = "user"  # overrides a classification, and later ones keep it
    if body.title is not None:
        row.title = body.title
    if body.language is not None:
        row.language = body.language
    if body.vocabulary is not None:
        row.vocabulary = body.vocabulary
    if body.redaction is not None:
        await redaction.change_session_policy(session, row, body.redaction)
    if body.share_with_participants is not None:
        row.share_with_participants = body.share_with_participants
    if body.status is not None:
        change_status(row, SessionStatus(body.status))
    await session.commit()
    return await session_detail(session, row)


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_session(session_id: str, user: CurrentUserDep, session: DbDep, storage: StorageDep, redis: RedisDep) -> Response:
    row = await owned_session(session, session_id, user.id)
    # The recordings go first: if storage refuses (503), the session stays and can be deleted again.
    keys = list((await session.execute(select(AudioFile.storage_key).where(AudioFile.session_id == row.id))).scalars())
    await storage.delete(row.id, keys)
    await session.delete(row)
    await session.commit()
    await realtime.drop(redis, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{session_id}/transcript", response_model=TranscriptOut)
async def get_transcript(
    session_id: str, user: CurrentUserDep, session: DbDep, version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
) -> TranscriptOut:
    return await transcript(session, await owned_session(session, session_id, user.id), version)


@router.patch("/{session_id}/speakers/{label}", response_model=SpeakerOut)
async def rename_speaker(session_id: str, label: str, body: SpeakerRename, user: CurrentUserDep, session: DbDep) -> SpeakerOut:
    await owned_session(session, session_id, user.id)
    if not await transcripts.rename_speaker(session, session_id, label, body.display_name):
        raise not_found("speaker")
    await session.commit()
    return SpeakerOut(label=label, display_name=body.display_name)


@router.post("/{session_id}/speakers/merge", response_model=SpeakerMerged)
async def merge_speakers(session_id: str, body: SpeakerMerge, user: CurrentUserDep, session: DbDep) -> SpeakerMerged:
    """Every segment of ``source`` becomes ``target``'s; the answer carries what undoes it."""
    await owned_session(session, session_id, user.id)
    if body.source == body.target:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "source and target are the same speaker")
    moved, name = await transcripts.merge_speakers(session, session_id, body.source, body.target)
    if not moved:
        raise not_found("speaker")
    await session.commit()
    undo = SpeakerSplit(label=body.source, display_name=name, segments=[SegmentRef(segment_id=s, version=v) for s, v in moved])
    return SpeakerMerged(moved_segments=len(moved), undo=undo)


@router.post("/{session_id}/speakers/split")
async def split_speaker(session_id: str, body: SpeakerSplit, user: CurrentUserDep, session: DbDep) -> dict[str, int]:
    """Give segments to a speaker of their own again (the ``undo`` of a merge)."""
    await owned_session(session, session_id, user.id)
    segments = [(s.segment_id, s.version) for s in body.segments]
    moved = await transcripts.assign_segments(session, session_id, body.label, body.display_name, segments)
    if not moved:
        raise not_found("segments")
    await session.commit()
    return {"moved_segments": moved}


@router.get("/{session_id}/recordings", response_model=list[RecordingOut])
async def recordings(session_id: str, user: CurrentUserDep, session: DbDep) -> list[RecordingOut]:
    """The session's audio: each participant's full recording (or the uploaded file)."""
    await owned_session(session, session_id, user.id)
    rows = (
        await session.execute(select(AudioFile).where(AudioFile.session_id == session_id).order_by(AudioFile.offset_ms))
    ).scalars()
    return [RecordingOut.model_validate(r) for r in rows]


@router.get(
    "/{session_id}/recordings/{recording_id}/audio",
    response_class=Response,
    responses={
        200: {"description": "the audio (local storage)", "content": {"audio/*": {}}},
        307: {"description": "Supabase Storage: a redirect to a signed URL that expires after SUPABASE_SIGNED_URL_TTL_S"},
    },
)
async def recording_audio(
    session_id: str, recording_id: str, user: CurrentUserDep, session: DbDep, storage: StorageDep
) -> Response:
    """The audio file itself (byte ranges supported, for seeking in a player); with Supabase
    Storage, a redirect to a short-lived signed URL of the private bucket instead."""
    await owned_session(session, session_id, user.id)
    row = await session.get(AudioFile, recording_id)
    if row is None or row.session_id != session_id:
        raise not_found("recording")
    return await storage.playback(row.storage_key, row.content_type)


MEDIA = {
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "json": "application/json",
    "md": "text/markdown",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


@router.get("/{session_id}/export")
async def export(
    session_id: str,
    user: CurrentUserDep,
    session: DbDep,
    format: Annotated[Literal["srt", "vtt", "json", "md", "docx"], Query()] = "json",
) -> Response:
    row = await owned_session(session, session_id, user.id)
    version, segments = await transcripts.read_segments(session, row.id)
    summary = await summaries.latest(session, row.id)
    summary_md = summary.markdown if summary else None
    extracted = await extraction.latest(session, row.id)
    if format == "srt":
        body: str | bytes = exports.srt(segments)
    elif format == "vtt":
        body = exports.vtt(segments)
    elif format == "md":
        fields_md = extraction.to_markdown(extracted.schema, extracted.data) if extracted else None
        body = exports.markdown(row.title, segments, summary_md, fields_md)
    elif format == "docx":
        pairs = extraction.to_pairs(extracted.schema, extracted.data) if extracted else None
        body = exports.docx(row.title, segments, summary_md, pairs)
    else:
        body = json.dumps(
            {
                "session_id": row.id,
                "title": row.title,
                "language": row.language,
                "version": version,
                "summary": summary.content if summary else None,
                "extraction": (
                    {
                        "version": extracted.version,
                        "template_id": extracted.template_id,
                        "model": extracted.model,
                        "data": extracted.data,
                    }
                    if extracted
                    else None
                ),
                "segments": [
                    {k: s[k] for k in ("segment_id", "speaker", "speaker_name", "start_ms", "end_ms", "text", "words")}
                    for s in segments
                ],
            },
            ensure_ascii=False,
            indent=2,
        )
    return Response(body, media_type=MEDIA[format], headers={"Content-Disposition": attachment(f"{row.title[:60]}.{format}")})


def attachment(filename: str) -> str:
    """Content-Disposition for any title: an ASCII fallback plus the UTF-8 name (RFC 6266)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\/' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
