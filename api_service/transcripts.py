"""Reading and writing transcripts: idempotent segment writes (a segment id is stored once per
version, however often it is sent), speaker names, and full-text search across sessions."""

from __future__ import annotations

import unicodedata
import zlib
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, TextClause, func, or_, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api_service.db.models import MeetingSession, SessionSpeaker, TranscriptSegment
from api_service.domain import redaction
from shared.contracts.internal import SegmentIn


def _insert(session: AsyncSession, model: type) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


async def ensure_speakers(session: AsyncSession, session_id: str, names: dict[str, str | None]) -> None:
    """A speaker row for each label, named when a name is given and the speaker has none yet (so
    a name the user gave is never replaced)."""
    if names:
        statement = _insert(session, SessionSpeaker).values(
            [{"session_id": session_id, "label": label, "display_name": names[label]} for label in sorted(names)]
        )
        keep_a_name = func.coalesce(SessionSpeaker.display_name, statement.excluded.display_name)
        await session.execute(
            statement.on_conflict_do_update(index_elements=["session_id", "label"], set_={"display_name": keep_a_name})
        )


async def add_segments(session: AsyncSession, session_id: str, segments: list[SegmentIn], version: int = 1) -> list[str]:
    """Store segments, redacted as the session's policy asks (live and batch alike, whatever sent
    them); returns the ids that were new (repeats are ignored, never duplicated)."""
    if not segments:
        return []
    segments = await redaction.redacted(session, session_id, segments)
    rows = [
        {
            "session_id": session_id,
            "version": version,
            **s.model_dump(exclude={"speaker_name"}),
            "words": [w.model_dump() for w in s.words],
        }
        for s in segments
    ]
    statement = (
        _insert(session, TranscriptSegment)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["session_id", "segment_id", "version"])
        .returning(TranscriptSegment.segment_id)
    )
    inserted = list((await session.execute(statement)).scalars())
    names: dict[str, str | None] = {}
    for s in segments:
        if s.speaker:
            names[s.speaker] = names.get(s.speaker) or s.speaker_name
    await ensure_speakers(session, session_id, names)
    return inserted


async def latest_version(session: AsyncSession, session_id: str) -> int:
    value = await session.scalar(select(func.max(TranscriptSegment.version)).where(TranscriptSegment.session_id == session_id))
    return int(value or 1)


async def read_segments(session: AsyncSession, session_id: str, version: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    version = version or await latest_version(session, session_id)
    names = dict(
        (
            await session.execute(
                select(SessionSpeaker.label, SessionSpeaker.display_name).where(SessionSpeaker.session_id == session_id)
            )
        ).all()
    )
    rows = (
        await session.execute(
            select(TranscriptSegment)
            .where(TranscriptSegment.session_id == session_id, TranscriptSegment.version == version)
            .order_by(TranscriptSegment.start_ms, TranscriptSegment.id)
        )
    ).scalars()
    return version, [
        {
            "segment_id": r.segment_id,
            "version": r.version,
            "speaker": r.speaker,
            "speaker_name": (names.get(r.speaker) if r.speaker else None) or r.speaker,
            "start_ms": r.start_ms,
            "end_ms": r.end_ms,
            "text": r.text,
            "language": r.language,
            "words": r.words,
        }
        for r in rows
    ]


async def rename_speaker(session: AsyncSession, session_id: str, label: str, display_name: str) -> bool:
    result = await session.execute(
        update(SessionSpeaker)
        .where(SessionSpeaker.session_id == session_id, SessionSpeaker.label == label)
        .values(display_name=display_name)
    )
    return bool(cast(CursorResult[Any], result).rowcount)


async def merge_speakers(
    session: AsyncSession, session_id: str, source: str, target: str
) -> tuple[list[tuple[str, int]], str | None]:
    """Every segment of ``source`` becomes ``target``'s. Returns the (segment id, version) of each
    that moved and the name ``source`` had, which is all an undo needs (``assign_segments``)."""
    moved = list(
        (
            await session.execute(
                update(TranscriptSegment)
                .where(TranscriptSegment.session_id == session_id, TranscriptSegment.speaker == source)
                .values(speaker=target)
                .returning(TranscriptSegment.segment_id, TranscriptSegment.version)
            )
        ).tuples()
    )
    await ensure_speakers(session, session_id, {target: None})
    speaker = (
        await session.execute(
            select(SessionSpeaker).where(SessionSpeaker.session_id == session_id, SessionSpeaker.label == source)
        )
    ).scalar_one_or_none()
    name = speaker.display_name if speaker else None
    if speaker is not None:
        await session.delete(speaker)
    return moved, name


async def assign_segments(
    session: AsyncSession, session_id: str, label: str, display_name: str | None, segments: list[tuple[str, int]]
) -> int:
    """Give these segments to speaker ``label`` (made, with ``display_name``, if it is gone)."""
    result = await session.execute(
        update(TranscriptSegment)
        .where(
            TranscriptSegment.session_id == session_id,
            tuple_(TranscriptSegment.segment_id, TranscriptSegment.version).in_(segments),
        )
        .values(speaker=label)
    )
    moved = int(cast(CursorResult[Any], result).rowcount)
    if moved:
        await ensure_speakers(session, session_id, {label: display_name})
    return moved


def _fts_match(session: AsyncSession, query: str) -> ColumnElement[bool] | TextClause:
    if session.get_bind().dialect.name == "postgresql":
        return text("to_tsvector('simple', segments.text) @@ plainto_tsquery('simple', :q)").bindparams(q=query)
    # FTS5 syntax would treat user input as operators; quote every term.
    terms = " ".join('"' + t.replace('"', '""') + '"' for t in query.split())
    return TranscriptSegment.id.in_(text("SELECT rowid FROM segments_fts WHERE segments_fts MATCH :q").bindparams(q=terms))


def search_sessions(session: AsyncSession, statement: Select[Any], query: str) -> Select[Any]:
    """Sessions whose title or transcript matches ``query``. Control characters (a NUL ends an
    SQLite FTS5 string mid-term and PostgreSQL refuses it) are never in a transcript: they are
    read as spaces."""
    query = " ".join("".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in query).split())
    if not query:
        return statement
    in_transcript = select(TranscriptSegment.session_id).where(_fts_match(session, query))
    return statement.where(or_(MeetingSession.title.ilike(f"%{query}%"), MeetingSession.id.in_(in_transcript)))


def _fts_any(session: AsyncSession, words: list[str]) -> ColumnElement[bool] | TextClause:
    """Segments holding any of ``words`` (letters and digits only), each also as a prefix."""
    if session.get_bind().dialect.name == "postgresql":
        query = " | ".join(f"{w}:*" for w in words)
        return text("to_tsvector('simple', segments.text) @@ to_tsquery('simple', :any)").bindparams(any=query)
    query = " OR ".join(f'"{w}"*' for w in words)
    return TranscriptSegment.id.in_(text("SELECT rowid FROM segments_fts WHERE segments_fts MATCH :any").bindparams(any=query))


async def find_passages(
    session: AsyncSession,
    user_id: str,
    words: list[str],
    fragments: list[str],
    session_ids: list[str] | None = None,
    limit: int = 400,
) -> list[dict[str, Any]]:
    """Segments of the latest transcript version of ``user_id``'s own sessions (only those of
    ``session_ids`` when given) that hold any of ``words`` (found with the full-text index, each
    also as a prefix) or any of ``fragments`` (substrings: for CJK text, which the index keeps as
    one token per clause). Most recent sessions first; each row carries its session's title."""
    words = [w for w in words if w and all(ch.isalnum() for ch in w)]
    matches: list[ColumnElement[bool] | TextClause] = [_fts_any(session, words)] if words else []
    matches += [TranscriptSegment.text.contains(f, autoescape=True) for f in fragments if f]
    if not matches:
        return []
    other = aliased(TranscriptSegment)
    latest = select(func.max(other.version)).where(other.session_id == TranscriptSegment.session_id).scalar_subquery()
    statement = (
        select(
            TranscriptSegment,
            MeetingSession.title,
            func.coalesce(MeetingSession.started_at, MeetingSession.created_at),
            SessionSpeaker.display_name,
        )
        .join(MeetingSession, MeetingSession.id == TranscriptSegment.session_id)
        .outerjoin(
            SessionSpeaker,
            (SessionSpeaker.session_id == TranscriptSegment.session_id) & (SessionSpeaker.label == TranscriptSegment.speaker),
        )
        .where(MeetingSession.user_id == user_id, TranscriptSegment.version == latest, or_(*matches))
        .order_by(MeetingSession.created_at.desc(), TranscriptSegment.start_ms)
        .limit(limit)
    )
    if session_ids is not None:
        statement = statement.where(MeetingSession.id.in_(session_ids))
    rows = (await session.execute(statement)).all()
    return [
        {
            "session_id": r.session_id,
            "session_title": title,
            "session_date": when.date().isoformat() if when else None,
            "segment_id": r.segment_id,
            "speaker": r.speaker,
            "speaker_name": name or r.speaker,
            "start_ms": r.start_ms,
            "end_ms": r.end_ms,
            "text": r.text,
        }
        for r, title, when, name in rows
    ]


async def transcript_state(session: AsyncSession, session_id: str) -> str:
    """A cheap version of a session's transcript that changes whenever a segment is added or a
    new transcript version is made, or a speaker is renamed: ``<version>.<segments>.<last row>.<names>``."""
    version = await latest_version(session, session_id)
    count, last = (
        await session.execute(
            select(func.count(), func.max(TranscriptSegment.id)).where(
                TranscriptSegment.session_id == session_id, TranscriptSegment.version == version
            )
        )
    ).one()
    speakers = select(SessionSpeaker.label, SessionSpeaker.display_name).where(SessionSpeaker.session_id == session_id)
    names = sorted((label, name or "") for label, name in (await session.execute(speakers)).all())
    return f"{version}.{count}.{last or 0}.{zlib.crc32(repr(names).encode()):08x}"
