"""Usage statistics: your own, and (for admins, ADMIN_EMAILS) everyone's. The figures are made in
``api_service.usage``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api_service import usage
from api_service.deps import CurrentUserDep, DbDep, SettingsDep
from api_service.schemas.stats import AdminStats, Stats

router = APIRouter(tags=["stats"])

Days = Annotated[int, Query(ge=1, le=366, description="the window: this many days, today (UTC) included")]


@router.get("/api/v1/stats", response_model=Stats)
async def my_stats(user: CurrentUserDep, session: DbDep, days: Days = 30) -> Stats:
    """Your sessions and minutes transcribed (live and batch), and the language-model tokens and
    cost spent for you, by stage and by day."""
    return await usage.stats(session, user.id, days)


@router.get("/api/v1/admin/stats", response_model=AdminStats)
async def all_stats(user: CurrentUserDep, session: DbDep, settings: SettingsDep, days: Days = 30) -> AdminStats:
    """Everyone's figures and each user's totals; only for the accounts ADMIN_EMAILS names (403
    for everyone else)."""
    if not settings.is_admin(user.email):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only administrators (ADMIN_EMAILS) can see everyone's usage.")
    return AdminStats(totals=await usage.stats(session, None, days), users=await usage.stats_by_user(session, days))
