"""Redaction in the API: a user's default policy, a session's own (a new session takes the one it
is given, else its owner's), and the rule applied to segments before they are stored, so
everything read from the database (transcripts, search, summaries, exports, webhooks, the
assistant) only ever sees redacted text. A policy turned on or changed for a session that already
has a transcript redacts what is stored, in every version: the original is not kept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import MeetingSession, TranscriptSegment, User
from shared.contracts.internal import SegmentIn, WordIn
from shared.contracts.redaction import RedactionPolicy, stored_policy
from shared.redaction import Redactor, redact_segment, redactor_for


async def user_policy(db: AsyncSession, user_id: str) -> RedactionPolicy:
    user = await db.get(User, user_id)
    return stored_policy(user.redaction if user else None)


async def set_user_policy(db: AsyncSession, user_id: str, policy: RedactionPolicy) -> RedactionPolicy:
    user = await db.get(User, user_id)
    if user is None:  # current_user makes the row; a race with a deletion is all that is left
        user = User(id=user_id)
        db.add(user)
    user.redaction = policy.model_dump(mode="json")
    await db.commit()
    return policy


async def new_session_policy(db: AsyncSession, given: RedactionPolicy | None, user_id: str) -> dict[str, Any]:
    """A new session's policy, as stored: the one it was given, else its owner's default."""
    return (given or await user_policy(db, user_id)).model_dump(mode="json")


async def session_redactor(db: AsyncSession, session_id: str) -> Redactor:
    row = await db.get(MeetingSession, session_id)
    return redactor_for(stored_policy(row.redaction if row else None))


async def redacted(db: AsyncSession, session_id: str, segments: list[SegmentIn]) -> list[SegmentIn]:
    """``segments`` as the session's policy lets them be stored."""
    redactor = await session_redactor(db, session_id)
    return [redact_segment(redactor, s) for s in segments] if redactor.active else segments


async def change_session_policy(db: AsyncSession, row: MeetingSession, policy: RedactionPolicy) -> int:
    """Give the session ``policy`` and, when it hides anything, redact the segments already stored
    (every version); returns how many changed. The caller commits."""
    row.redaction = policy.model_dump(mode="json")
    redactor = redactor_for(policy)
    if not redactor.active:
        return 0
    changed = 0
    stored = await db.execute(select(TranscriptSegment).where(TranscriptSegment.session_id == row.id))
    for segment in stored.scalars():
        words = [WordIn.model_validate(w) for w in segment.words or []]
        text, new_words = redactor.redact_words(segment.text, words)
        if text != segment.text or new_words != words:
            segment.text = text
            segment.words = [w.model_dump() for w in new_words]
            changed += 1
    return changed
