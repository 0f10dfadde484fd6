"""Who took part in a session's meeting, and whether they may read it afterwards: the people who
joined through its invite (recorded when the API gave them a token for the room), less those
the owner removed, read the transcript and summary only while the owner shares them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import MeetingSession, SessionParticipant, now
from api_service.livekit_access import identity_user


async def record_join(db: AsyncSession, row: MeetingSession, user_id: str, name: str) -> None:
    """``user_id`` joined ``row``'s meeting through its invite (not the owner): a participant from
    now on, under the name they gave last. Someone the owner removed stays removed."""
    if user_id == row.user_id:
        return
    found = await _participant(db, row.id, user_id)
    if found is None:
        db.add(SessionParticipant(session_id=row.id, user_id=user_id, display_name=name[:200]))
    else:
        found.display_name = name[:200]


async def _participant(db: AsyncSession, session_id: str, user_id: str) -> SessionParticipant | None:
    return await db.scalar(
        select(SessionParticipant).where(SessionParticipant.session_id == session_id, SessionParticipant.user_id == user_id)
    )


async def mark_removed(db: AsyncSession, session_id: str, identity: str) -> bool:
    """The owner removed the participant whose room identity is ``identity``: they may no longer
    read the session. False when nobody of that identity joined through the invite, or they were
    removed already."""
    user_id = identity_user(identity)
    found = await _participant(db, session_id, user_id) if user_id else None
    if found is None or found.removed_at is not None:
        return False
    found.removed_at = now()
    return True


async def may_read_shared(db: AsyncSession, row: MeetingSession, user_id: str) -> bool:
    """The access rule for a shared session: its owner always; anyone else only while the owner
    shares it with participants, and only when they joined the meeting through the invite and
    were not removed."""
    if row.user_id == user_id:
        return True
    if not row.share_with_participants:
        return False
    found = await _participant(db, row.id, user_id)
    return found is not None and found.removed_at is None


async def participants(db: AsyncSession, session_id: str) -> list[SessionParticipant]:
    """Everyone who joined through the invite, in the order they first joined."""
    statement = select(SessionParticipant).where(SessionParticipant.session_id == session_id)
    return list((await db.execute(statement.order_by(SessionParticipant.joined_at, SessionParticipant.id))).scalars())
