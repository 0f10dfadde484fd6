"""A session shared with the people who took part in its meeting: read-only, the session (title,
times, speakers, latest summary) and its transcript. Who may read it is decided in one place,
``deps.shared_reader``; everyone else gets the 404 another user's session gets."""

from __future__ import annotations

from fastapi import APIRouter

from api_service.deps import CurrentUserDep, DbDep, shared_reader
from api_service.domain.sessions import shared_session, transcript
from api_service.schemas.sessions import SharedSession, TranscriptOut

router = APIRouter(prefix="/api/v1/shared", tags=["shared"])


@router.get("/{session_id}", response_model=SharedSession)
async def get_shared_session(session_id: str, user: CurrentUserDep, session: DbDep) -> SharedSession:
    """The session as its participants read it, while its owner shares it with them."""
    return await shared_session(session, await shared_reader(session, session_id, user.id))


@router.get("/{session_id}/transcript", response_model=TranscriptOut)
async def get_shared_transcript(session_id: str, user: CurrentUserDep, session: DbDep) -> TranscriptOut:
    """Its transcript: the latest version (after post-meeting processing, the improved one)."""
    return await transcript(session, await shared_reader(session, session_id, user.id))
