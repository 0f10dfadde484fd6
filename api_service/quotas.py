"""Per-user daily quotas, counted in Redis (shared by every API process): batch uploads, minutes
of uploaded audio, and summaries, titles, questions and briefs (LLM calls). A quota of 0 means no
limit. The day is UTC; what a refused request would have added is not counted."""

from __future__ import annotations

import logging
import time
from typing import Literal

from fastapi import status
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api_service.settings import APISettings
from shared.errors import Refused

log = logging.getLogger(__name__)

Quota = Literal["uploads", "audio_minutes", "summaries"]
WHAT = {
    "uploads": "uploads",
    "audio_minutes": "minutes of uploaded audio",
    "summaries": "summaries, titles, questions and briefs",
}


class Quotas:
    """The quotas of API_QUOTA_* for the users of one app, counted in its Redis."""

    def __init__(self, settings: APISettings, redis: Redis) -> None:
        self.redis = redis
        self.limits: dict[Quota, float] = {
            "uploads": settings.quota_uploads_per_day,
            "audio_minutes": settings.quota_audio_minutes_per_day,
            "summaries": settings.quota_summaries_per_day,
        }

    async def charge(self, user_id: str, quota: Quota, amount: float = 1.0) -> None:
        """Count ``amount`` against the user's quota for today; 429 with a sentence when it would
        pass it. While Redis is away nothing is counted (the request goes on)."""
        limit = self.limits[quota]
        if not limit:
            return
        day = int(time.time() // 86400)
        key = f"quota:{quota}:{user_id}:{day}"
        try:
            total = float(await self.redis.incrbyfloat(key, amount))
            if total == amount:
                await self.redis.expire(key, 2 * 86400)
            if total > limit:
                await self.redis.incrbyfloat(key, -amount)
        except RedisError as exc:
            log.warning("quota %s not checked: Redis unavailable (%s)", quota, exc)
            return
        if total > limit:
            retry = 86400 - int(time.time() % 86400)
            raise Refused(
                status.HTTP_429_TOO_MANY_REQUESTS,
                "quota_exceeded",
                f"You have used today's quota of {limit:g} {WHAT[quota]}; it starts again at midnight UTC.",
                {"quota": quota, "limit": limit},
                {"Retry-After": str(retry)},
            )
