"""Which live rooms lost their agent, read from the agents' presence in a real Redis: one whose
agent beat once and no longer does, not one still beating nor one no agent has reached yet."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from api_service.db.models import MeetingSession
from api_service.jobs.agent_watch import orphaned_rooms
from shared.contracts.rooms import AgentBeat, agent_beat_key, agent_seen_key

pytestmark = [pytest.mark.service]


async def test_a_room_is_orphaned_when_its_agent_beat_before_and_stopped(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    rows = {name: MeetingSession(id=f"{name}-{uuid.uuid4().hex}") for name in ("beating", "stopped", "waiting")}
    beat = AgentBeat(job_id="job-1", clock_ms=1000).model_dump_json()
    try:
        await redis.set(agent_beat_key(rows["beating"].id), beat, px=5000)
        for name in ("beating", "stopped"):
            await redis.set(agent_seen_key(rows[name].id), beat, ex=60)
        assert [row.id for row in await orphaned_rooms(redis, list(rows.values()))] == [rows["stopped"].id]
        assert await orphaned_rooms(redis, []) == []
    finally:
        await redis.aclose()
