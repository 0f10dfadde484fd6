"""Request-scoped dependencies: a database session, and rows the caller owns (else 404)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import MeetingSession


async def db(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def not_found(what: str = "session") -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


async def owned_session(session: AsyncSession, session_id: str, user_id: str) -> MeetingSession:
    row = await session.get(MeetingSession, session_id)
    if row is None or row.user_id != user_id:
        raise not_found()  # another user's session looks exactly like a missing one
    return row
