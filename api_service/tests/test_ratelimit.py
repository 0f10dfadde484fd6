"""Rate limits against a real Redis, with the clock moved by hand: at most N requests in any
60 s, also across the turn of a clock minute, and a refused request does not count."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import HTTPException, Request
from redis.asyncio import Redis

from api_service import ratelimit

pytestmark = [pytest.mark.service]


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


def request_from(address: str) -> Request:
    return Request({"type": "http", "client": (address, 50000), "headers": []})


async def attempt(redis: Redis, monkeypatch: pytest.MonkeyPatch, at: float, address: str = "203.0.113.7") -> int | str:
    """What one login attempt at time ``at`` gets: 200, or a 429's Retry-After."""
    monkeypatch.setattr(ratelimit.time, "time", lambda: at)
    try:
        await ratelimit.limit(request_from(address), redis, "login", 2, user_id=None)
    except HTTPException as refused:
        assert refused.status_code == 429 and "try again in" in refused.detail
        return (refused.headers or {})["Retry-After"]
    return 200


async def test_at_most_the_limit_in_any_minute(redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    start = 1_800_000_030.0  # half a minute past a clock minute
    # A fixed window lets 2 through at :50 and 2 more at :10 of the next minute.
    assert [await attempt(redis, monkeypatch, start + t) for t in (20, 21, 40, 41)] == [200, 200, "40", "39"]
    # The refused attempts did not count: the first slot frees 60 s after the first request.
    assert await attempt(redis, monkeypatch, start + 80.5) == 200
    assert await attempt(redis, monkeypatch, start + 80.6) == "1"
    assert await attempt(redis, monkeypatch, start + 81.5) == 200
    # Another address has its own count.
    assert await attempt(redis, monkeypatch, start + 81.6, "203.0.113.8") == 200


async def test_a_signed_in_user_is_counted_across_addresses(redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_800_000_000.0)
    for address in ("198.51.100.1", "198.51.100.2"):
        await ratelimit.limit(request_from(address), redis, "upload", 2, user_id="u1")
    with pytest.raises(HTTPException) as refused:
        await ratelimit.limit(request_from("198.51.100.3"), redis, "upload", 2, user_id="u1")
    assert refused.value.status_code == 429
