"""Per-user daily quotas, counted in Redis (shared by every API process): batch uploads, minutes
of uploaded audio, and summaries or titles (LLM calls). A quota of 0 means no limit. The day is
UTC; what a refused request would have added is not counted."""

from __future__ import annotations

import logging
import time
from typing import Literal

from fastapi import HTTPException, Request, status
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Quota = Literal["uploads", "audio_minutes", "summaries"]
WHAT = {"uploads": "uploads", "audio_minutes": "minutes of uploaded audio", "summaries": "summaries and titles"}


def _limit(request: Request, quota: Quota) -> float:
    settings = request.app.state.settings
    return float(
        {
            "uploads": settings.quota_uploads_per_day,
            "audio_minutes": settings.quota_audio_minutes_per_day,
            "summaries": settings.quota_summaries_per_day,
        }[quota]
    )


async def charge(request: Request, user_id: str, quota: Quota, amount: float = 1.0) -> None:
    """Count ``amount`` against the user's quota for today; 429 with a sentence when it would
    pass it. While Redis is away nothing is counted (the request goes on)."""
    limit = _limit(request, quota)
    if not limit:
        return
    day = int(time.time() // 86400)
    key = f"quota:{quota}:{user_id}:{day}"
    redis = request.app.state.redis
    try:
        total = float(await redis.incrbyfloat(key, amount))
        if total == amount:
            await redis.expire(key, 2 * 86400)
        if total > limit:
            await redis.incrbyfloat(key, -amount)
    except RedisError as exc:
        log.warning("quota %s not checked: Redis unavailable (%s)", quota, exc)
        return
    if total > limit:
        retry = 86400 - int(time.time() % 86400)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"You have used today's quota of {limit:g} {WHAT[quota]}; it starts again at midnight UTC.",
            headers={"Retry-After": str(retry)},
        )
