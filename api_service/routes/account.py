"""The signed-in user's own settings: the redaction policy new sessions start with."""

from __future__ import annotations

from fastapi import APIRouter

from api_service.deps import CurrentUserDep, DbDep
from api_service.domain import redaction
from shared.contracts.redaction import RedactionPolicy

router = APIRouter(prefix="/api/v1/me", tags=["account"])


@router.get("/redaction", response_model=RedactionPolicy)
async def get_redaction(user: CurrentUserDep, session: DbDep) -> RedactionPolicy:
    """What new sessions hide from their transcript unless they are given a policy of their own."""
    return await redaction.user_policy(session, user.id)


@router.put("/redaction", response_model=RedactionPolicy)
async def put_redaction(body: RedactionPolicy, user: CurrentUserDep, session: DbDep) -> RedactionPolicy:
    """Replaces the default; sessions that exist keep theirs (change one with PATCH /sessions/{id})."""
    return await redaction.set_user_policy(session, user.id, body)
