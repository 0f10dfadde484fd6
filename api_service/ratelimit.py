"""Fixed-window rate limits kept in Redis (shared by every API process)."""

from __future__ import annotations

import time

from fastapi import HTTPException, Request, status


async def limit(request: Request, bucket: str, per_minute: int) -> None:
    client = request.client.host if request.client else "unknown"
    window = int(time.time() // 60)
    key = f"ratelimit:{bucket}:{client}:{window}"
    redis = request.app.state.redis
    count = await redis.incr(key)
    if count == 1:
        await redis.expire(key, 90)
    if count > per_minute:
        retry = 60 - int(time.time() % 60)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many {bucket} attempts; retry in {retry}s",
            headers={"Retry-After": str(retry)},
        )
