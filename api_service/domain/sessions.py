"""A session as the API shows it: its fields, invite code, speakers and how many segments it has."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import MeetingSession, TranscriptSegment
from api_service.schemas.sessions import SessionDetail, SessionOut, SpeakerOut


async def session_detail(db: AsyncSession, row: MeetingSession) -> SessionDetail:
    count = await db.scalar(select(func.count()).select_from(TranscriptSegment).where(TranscriptSegment.session_id == row.id))
    await db.refresh(row, ["speakers"])
    return SessionDetail.model_validate(
        {
            **SessionOut.model_validate(row).model_dump(),
            "invite_code": row.invite_code,
            "speakers": [SpeakerOut.model_validate(s) for s in row.speakers],
            "segment_count": count or 0,
        }
    )
