"""Sessions as the API shows them (the REST routes and the MCP tools alike): a session's fields,
invite code, speakers, participants, how many segments it has and whether post-meeting processing
is still improving it; the read-only view of a session shared with its participants; a user's
sessions, searched; a transcript."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service import exports, summaries, transcripts
from api_service.db.models import Job, MeetingSession, TranscriptSegment
from api_service.domain import participants
from api_service.livekit_access import participant_identity
from api_service.passages import Passage, best_matches, question_terms
from api_service.schemas.sessions import (
    ParticipantOut,
    SearchMatch,
    SessionDetail,
    SessionListItem,
    SessionOut,
    SessionPage,
    SharedSession,
    SharedSummary,
    SpeakerOut,
    TranscriptOut,
)
from shared.contracts.jobs import JobStatus

MATCHES_PER_SESSION = 3  # lines shown under each session a search finds
PASSAGES_READ = 400  # matching lines read to choose them from, in one query for a page of sessions


async def _progress(db: AsyncSession, row: MeetingSession) -> tuple[int, bool]:
    """How many segments the session has, and whether post-meeting processing is still improving it."""
    count = await db.scalar(select(func.count()).select_from(TranscriptSegment).where(TranscriptSegment.session_id == row.id))
    improving = await db.scalar(
        select(Job.id)
        .where(Job.session_id == row.id, Job.kind == "post_meeting", Job.status.in_((JobStatus.queued, JobStatus.running)))
        .limit(1)
    )
    return count or 0, improving is not None


async def session_detail(db: AsyncSession, row: MeetingSession) -> SessionDetail:
    count, improving = await _progress(db, row)
    await db.refresh(row, ["speakers"])
    joined = [
        ParticipantOut(
            identity=participant_identity(p.user_id),
            display_name=p.display_name,
            joined_at=p.joined_at,
            removed=p.removed_at is not None,
        )
        for p in await participants.participants(db, row.id)
    ]
    return SessionDetail.model_validate(
        {
            **SessionOut.model_validate(row).model_dump(),
            "invite_code": row.invite_code,
            "speakers": [SpeakerOut.model_validate(s) for s in row.speakers],
            "participants": joined,
            "segment_count": count,
            "improving": improving,
        }
    )


async def shared_session(db: AsyncSession, row: MeetingSession) -> SharedSession:
    """The session as a participant it is shared with reads it (routes/sharing.py)."""
    count, improving = await _progress(db, row)
    await db.refresh(row, ["speakers"])
    summary = await summaries.latest(db, row.id)
    return SharedSession(
        id=row.id,
        title=row.title,
        status=row.status,
        language=row.language,
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_ms=row.duration_ms,
        speakers=[SpeakerOut.model_validate(s) for s in row.speakers],
        segment_count=count,
        improving=improving,
        summary=(
            SharedSummary(markdown=summary.markdown, html=exports.markdown_html(summary.markdown), created_at=summary.created_at)
            if summary
            else None
        ),
    )


async def find_sessions(
    db: AsyncSession, user_id: str, query: str | None, status: str | None, limit: int, offset: int = 0
) -> SessionPage:
    """The user's sessions, the most recent first: those whose title or transcript matches
    ``query`` (all of them without one), of ``status`` when it is given. With a query, each
    session carries its best-matching transcript lines."""
    statement = select(MeetingSession).where(MeetingSession.user_id == user_id)
    if status:
        statement = statement.where(MeetingSession.status == status)
    query = (query or "").strip()
    if query:
        statement = transcripts.search_sessions(db, statement, query)
    total = await db.scalar(select(func.count()).select_from(statement.subquery()))
    rows = list((await db.execute(statement.order_by(MeetingSession.created_at.desc()).limit(limit).offset(offset))).scalars())
    found = await matching_lines(db, user_id, query, [r.id for r in rows]) if query and rows else {}
    items = [
        SessionListItem.model_validate({**SessionOut.model_validate(r).model_dump(), "matches": found.get(r.id, [])})
        for r in rows
    ]
    return SessionPage(items=items, total=total or 0, limit=limit, offset=offset)


async def matching_lines(db: AsyncSession, user_id: str, query: str, session_ids: list[str]) -> dict[str, list[SearchMatch]]:
    """Each session's transcript lines (latest version) that match ``query`` best, at most
    MATCHES_PER_SESSION, in the order they were said."""
    words, fragments = question_terms(query)
    rows = await transcripts.find_passages(db, user_id, words, fragments, session_ids, limit=PASSAGES_READ)
    if len(rows) >= PASSAGES_READ:  # one long transcript may have filled the read: the others on their own
        found = {row["session_id"] for row in rows}
        for session_id in (s for s in session_ids if s not in found):
            rows += await transcripts.find_passages(db, user_id, words, fragments, [session_id], limit=PASSAGES_READ)
    by_session: dict[str, list[Passage]] = {}
    for row in rows:
        by_session.setdefault(row["session_id"], []).append(Passage.of(row["session_id"], row["session_title"], row))
    return {
        session_id: [
            SearchMatch(segment_id=p.segment_id, start_ms=p.start_ms, speaker=p.speaker, text=p.text)
            for p in best_matches(query, passages, MATCHES_PER_SESSION)
        ]
        for session_id, passages in by_session.items()
    }


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
