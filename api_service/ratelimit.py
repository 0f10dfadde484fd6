"""Sliding-window rate limits kept in Redis (shared by every API process), per client address (as
the trusted proxy reports it, TRUSTED_PROXIES) and per user where one is signed in, so neither
many addresses nor one shared address gets around them.

Each key is a sorted set of the times of the last minute's accepted requests: a caller gets at
most ``per_minute`` requests in any 60 s (a fixed window lets twice that through across the turn
of a clock minute), and a refused request does not push its own retry time back."""

from __future__ import annotations

import logging
import math
import time
import uuid

from fastapi import Request, status
from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared.errors import Refused

log = logging.getLogger(__name__)

WINDOW_S = 60


# Atomically, over every key: drop entries older than the window; if each key holds fewer than
# the limit, record this request in all of them and answer 0; else answer the oldest entry's time
# among the full keys (when a slot frees up) without recording the refused request.
_SLIDING_WINDOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local frees_at = nil
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]) + window
    if frees_at == nil or oldest < frees_at then frees_at = oldest end
  end
end
if frees_at ~= nil then return tostring(frees_at) end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('EXPIRE', key, window + 1)
end
return '0'
"""


async def limit(request: Request, redis: Redis, bucket: str, per_minute: int, user_id: str | None = None) -> None:
    """429 with a sentence when the caller made more than ``per_minute`` requests to ``bucket``
    in the last 60 s."""
    client = request.client.host if request.client else "unknown"
    keys = [f"ratelimit:{bucket}:{client}"] + ([f"ratelimit:{bucket}:user:{user_id}"] if user_id else [])
    now = time.time()
    try:
        frees_at = float(await redis.eval(_SLIDING_WINDOW, len(keys), *keys, now, WINDOW_S, per_minute, uuid.uuid4().hex))
    except RedisError as exc:
        # The counters are protection, not the service: while Redis is away requests go on
        # (and whatever needs Redis says so itself) rather than every route answering 500.
        log.warning("rate limit %s not checked: Redis unavailable (%s)", bucket, exc)
        return
    if frees_at:
        retry = max(1, math.ceil(frees_at - now))
        raise Refused(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "rate_limited",
            f"Too many {bucket} attempts; try again in {retry} s.",
            {"action": bucket},
            {"Retry-After": str(retry)},
        )
