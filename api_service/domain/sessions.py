"""Sessions as the API shows them (the REST routes and the MCP tools alike): a session's fields,
invite code, speakers, how many segments it has and whether post-meeting processing is still
improving it; a user's sessions, searched; a transcript."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service import transcripts
from api_service.db.models import Job, MeetingSession, TranscriptSegment
from api_service.schemas.sessions import SessionDetail, SessionOut, SessionPage, SpeakerOut, TranscriptOut
from shared.contracts.jobs import JobStatus


async def session_detail(db: AsyncSession, row: MeetingSession) -> SessionDetail:
    count = await db.scalar(select(func.count()).select_from(TranscriptSegment).where(TranscriptSegment.session_id == row.id))
    improving = await db.scalar(
        select(Job.id)
        .where(Job.session_id == row.id, Job.kind == "post_meeting", Job.status.in_((JobStatus.queued, JobStatus.running)))
        .limit(1)
    )
    await db.refresh(row, ["speakers"])
    return SessionDetail.model_validate(
        {
            **SessionOut.model_validate(row).model_dump(),
            "invite_code": row.invite_code,
            "speakers": [SpeakerOut.model_validate(s) for s in row.speakers],
            "segment_count": count or 0,
            "improving": improving is not None,
        }
    )


async def find_sessions(
    db: AsyncSession, user_id: str, query: str | None, status: str | None, limit: int, offset: int = 0
) -> SessionPage:
    """The user's sessions, the most recent first: those whose title or transcript matches
    ``query`` (all of them without one), of ``status`` when it is given."""
    statement = select(MeetingSession).where(MeetingSession.user_id == user_id)
    if status:
        statement = statement.where(MeetingSession.status == status)
    if query and query.strip():
        statement = transcripts.search_sessions(db, statement, query.strip())
    total = await db.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (await db.execute(statement.order_by(MeetingSession.created_at.desc()).limit(limit).offset(offset))).scalars()
    return SessionPage(items=[SessionOut.model_validate(r) for r in rows], total=total or 0, limit=limit, offset=offset)


async def transcript(db: AsyncSession, row: MeetingSession, version: int | None = None) -> TranscriptOut:
    """The session's transcript (its latest version unless ``version`` is named), with speaker names."""
    used, segments = await transcripts.read_segments(db, row.id, version)
    await db.refresh(row, ["speakers"])
    return TranscriptOut.model_validate(
        {
            "session_id": row.id,
            "version": used,
            "segments": segments,
            "speakers": [SpeakerOut.model_validate(s) for s in row.speakers],
        }
    )
