"""Fixed-window rate limits kept in Redis (shared by every API process), per client address (as
the trusted proxy reports it, TRUSTED_PROXIES) and per user where one is signed in, so neither
many addresses nor one shared address gets around them."""

from __future__ import annotations

import logging
import time

from fastapi import HTTPException, Request, status
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


async def limit(request: Request, redis: Redis, bucket: str, per_minute: int, user_id: str | None = None) -> None:
    """429 with a sentence when the caller passed ``per_minute`` requests to ``bucket`` this minute."""
    client = request.client.host if request.client else "unknown"
    window = int(time.time() // 60)
    keys = [f"ratelimit:{bucket}:{client}:{window}"] + ([f"ratelimit:{bucket}:user:{user_id}:{window}"] if user_id else [])
    try:
        counts = []
        for key in keys:
            counts.append(await redis.incr(key))
            if counts[-1] == 1:
                await redis.expire(key, 90)
    except RedisError as exc:
        # The counters are protection, not the service: while Redis is away requests go on
        # (and whatever needs Redis says so itself) rather than every route answering 500.
        log.warning("rate limit %s not checked: Redis unavailable (%s)", bucket, exc)
        return
    if max(counts) > per_minute:
        retry = 60 - int(time.time() % 60)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"Too many {bucket} attempts; try again in {retry} s.",
            headers={"Retry-After": str(retry)},
        )
