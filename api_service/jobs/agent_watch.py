"""Rooms whose agent died while people remain: self-hosted LiveKit never dispatches an agent again
when its worker dies (livekit/agents#1472), and drops the dead agent from the room only after
about 20 s. Every room job beats in Redis (agent_service/presence.py); every AGENT_WATCH_S the
batch worker looks for live sessions whose agent has beaten before but no longer does, with people
still in the room, and dispatches the agent again. The new job continues the session clock from
the last beat. Every worker watches; a Redis lock per session lets one of them dispatch, once per
AGENT_REDISPATCH_WAIT_S."""

from __future__ import annotations

import asyncio
import logging

from livekit import api
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api_service.db.models import MeetingSession
from api_service.jobs.sweep import people_in
from api_service.livekit_access import AgentDispatcher
from api_service.settings import APISettings
from shared.contracts.internal import SessionStatus
from shared.contracts.redaction import stored_policy
from shared.contracts.rooms import agent_beat_key, agent_seen_key

log = logging.getLogger(__name__)


def redispatch_lock_key(session_id: str) -> str:
    return f"session:{session_id}:agent-redispatch"


async def orphaned_rooms(redis: Redis, rows: list[MeetingSession]) -> list[MeetingSession]:
    """The sessions among ``rows`` whose agent beat once and no longer does."""
    async with redis.pipeline(transaction=False) as pipe:
        for row in rows:
            pipe.exists(agent_seen_key(row.id))
            pipe.exists(agent_beat_key(row.id))
        flags = await pipe.execute()
    return [row for row, seen, beating in zip(rows, flags[::2], flags[1::2], strict=True) if seen and not beating]


async def watch_once(
    settings: APISettings,
    sessions: async_sessionmaker[AsyncSession],
    livekit: api.LiveKitAPI,
    dispatcher: AgentDispatcher,
    redis: Redis,
) -> list[str]:
    """Dispatch the agent again to rooms that lost theirs; returns their session ids."""
    async with sessions() as db:
        live = list((await db.execute(select(MeetingSession).where(MeetingSession.status == SessionStatus.live))).scalars())
    if not live:
        return []
    redispatched = []
    for row in await orphaned_rooms(redis, live):
        try:
            if not await people_in(livekit, row.room_name):
                continue  # everyone left too: the stale-session sweep completes it
        except api.TwirpError:
            continue  # the room is gone
        if not await redis.set(redispatch_lock_key(row.id), "1", nx=True, ex=int(settings.agent_redispatch_wait_s)):
            continue  # dispatched again a moment ago (by this worker or another)
        log.warning("the agent of session %s stopped while people remain: dispatching it again", row.id)
        await dispatcher.dispatch(row.room_name, row.id, stored_policy(row.redaction))
        redispatched.append(row.id)
    return redispatched


async def watch_forever(settings: APISettings, sessions: async_sessionmaker[AsyncSession], redis: Redis) -> None:
    livekit = api.LiveKitAPI(settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret)
    dispatcher = AgentDispatcher(settings)
    try:
        while True:
            try:
                await watch_once(settings, sessions, livekit, dispatcher, redis)
            except Exception as exc:  # the next round tries again
                log.warning("watch of live rooms' agents failed: %r", exc)
            await asyncio.sleep(settings.agent_watch_s)
    finally:
        await dispatcher.aclose()
        await livekit.aclose()
