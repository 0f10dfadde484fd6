"""Sessions left ``live`` when no meeting is going on (the agent crashed, or its "completed" call
was lost): the batch worker looks every LIVE_SESSION_SWEEP_S for live sessions untouched for
LIVE_SESSION_GRACE_S whose LiveKit room is gone or empty, and completes them as the agent would
have (webhooks, post-meeting job, live feed). Every worker sweeps; completing twice is a no-op."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from livekit import api
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api_service import lifecycle
from api_service.db.models import MeetingSession
from api_service.domain.status import change_status
from api_service.settings import APISettings
from shared.contracts.internal import SessionStatus

log = logging.getLogger(__name__)


async def people_in(livekit: api.LiveKitAPI, room: str) -> int:
    """Participants other than agents (a room's own count in list_rooms lags behind)."""
    listed = await livekit.room.list_participants(api.ListParticipantsRequest(room=room))
    return sum(p.kind != api.ParticipantInfo.AGENT for p in listed.participants)


async def sweep_once(
    settings: APISettings, sessions: async_sessionmaker[AsyncSession], livekit: api.LiveKitAPI, redis: Redis
) -> int:
    """Complete the stale live sessions; returns how many."""
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.live_session_grace_s)
    async with sessions() as db:
        stale = list(
            (
                await db.execute(
                    select(MeetingSession).where(MeetingSession.status == "live", MeetingSession.updated_at < cutoff)
                )
            ).scalars()
        )
        if not stale:
            return 0
        listed = await livekit.room.list_rooms(api.ListRoomsRequest(names=[row.room_name for row in stale]))
        rooms = {room.name for room in listed.rooms}
        done = 0
        for row in stale:
            if row.room_name in rooms and await people_in(livekit, row.room_name):
                continue
            await db.refresh(row)
            if row.status != SessionStatus.live:
                continue  # completed meanwhile
            change_status(row, SessionStatus.completed)
            await db.commit()
            log.info("session %s was live with no meeting going on: completed", row.id)
            await lifecycle.completed(db, row, redis)
            done += 1
        return done


async def sweep_forever(settings: APISettings, sessions: async_sessionmaker[AsyncSession], redis: Redis) -> None:
    livekit = api.LiveKitAPI(settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret)
    try:
        while True:
            try:
                await sweep_once(settings, sessions, livekit, redis)
            except Exception:  # the next round tries again
                log.exception("sweep of live sessions failed")
            await asyncio.sleep(settings.live_session_sweep_s)
    finally:
        await livekit.aclose()
