"""A room job's presence against a real Redis: the beat names the job and the session clock,
expires a few periods after the job stops, and what it leaves behind is the clock the next job
continues from; a job that ends the session leaves nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from agent_service.presence import Presence
from shared.contracts.rooms import AgentBeat, agent_beat_key, agent_seen_key

pytestmark = [pytest.mark.service]


async def test_a_beat_expires_after_its_job_and_leaves_the_clock(redis_url: str) -> None:
    session = f"s-{uuid.uuid4().hex}"
    first = Presence(redis_url, session, "job-1", period_s=0.1)
    first.start(lambda: 42_000)
    await asyncio.sleep(0.15)
    second = Presence(redis_url, session, "job-2", period_s=0.1)
    assert await second.other_job() == "job-1"
    assert await first.other_job() is None  # its own beat is not another job
    await first.aclose(ended=False)  # killed, as far as Redis can tell
    await asyncio.sleep(0.4)  # three periods
    assert await second.other_job() is None
    assert await second.last_clock_ms() == 42_000
    redis = Redis.from_url(redis_url)
    try:
        raw = await redis.get(agent_seen_key(session))
        assert raw is not None
        seen = AgentBeat.model_validate_json(raw)
        assert seen == AgentBeat(job_id="job-1", clock_ms=42_000)
        second.start(lambda: 50_000)
        await asyncio.sleep(0.05)
        await second.aclose(ended=True)
        assert await redis.exists(agent_beat_key(session), agent_seen_key(session)) == 0
    finally:
        await redis.aclose()


async def test_no_redis_means_no_presence_not_a_failed_job() -> None:
    presence = Presence("redis://127.0.0.1:9/0", "s-unreachable", "job-1", period_s=0.05)
    assert await presence.other_job() is None
    assert await presence.last_clock_ms() == 0
    presence.start(lambda: 0)
    await asyncio.sleep(0.1)
    await presence.aclose(ended=True)
