"""Request-scoped dependencies: a database session, and rows the caller owns (else 404)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import MeetingSession


async def db(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


# For routes that stream (server-sent events): the session closes when the route function returns,
# before the body streams, so an open stream holds no database connection.
StreamDB = Annotated[AsyncSession, Depends(db, scope="function")]


async def release(session: AsyncSession) -> None:
    """End the transaction so the connection goes back to the pool before a slow wait (a model
    call). Loaded rows stay usable (expire_on_commit=False); the next query starts a new one."""
    await session.commit()


def not_found(what: str = "session") -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


async def owned_session(session: AsyncSession, session_id: str, user_id: str) -> MeetingSession:
    row = await session.get(MeetingSession, session_id)
    if row is None or row.user_id != user_id:
        raise not_found()  # another user's session looks exactly like a missing one
    return row
