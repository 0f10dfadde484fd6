"""A room job's presence in Redis (shared/contracts/rooms.py, ``AgentBeat``): a heartbeat that
expires a few periods after the job dies, which the batch worker's watcher reads to dispatch the
room again (LiveKit itself drops a killed agent from the room only after about 20 s, and never
dispatches it again), and the session clock the next job continues from."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared.contracts.rooms import AgentBeat, agent_beat_key, agent_seen_key

log = logging.getLogger(__name__)

# A beat is kept for this many periods: one late beat never makes a live job look dead.
BEAT_PERIODS = 3
SEEN_S = 24 * 3600


class Presence:
    def __init__(self, redis_url: str, session_id: str, job_id: str, period_s: float) -> None:
        self._redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.session_id = session_id
        self.job_id = job_id
        self.period_s = period_s
        self._task: asyncio.Task[None] | None = None

    async def _get(self, key: str) -> AgentBeat | None:
        try:
            raw = await self._redis.get(key)
        except RedisError as exc:
            log.warning("Redis unreachable (%s): no agent presence for %s", exc, self.session_id)
            return None
        return AgentBeat.model_validate_json(raw) if raw else None

    async def other_job(self) -> str | None:
        """The id of another job of this session that is alive, if any."""
        beat = await self._get(agent_beat_key(self.session_id))
        return beat.job_id if beat is not None and beat.job_id != self.job_id else None

    async def last_clock_ms(self) -> int:
        """The session clock at the last beat of any job of this session (0: none)."""
        seen = await self._get(agent_seen_key(self.session_id))
        return seen.clock_ms if seen is not None else 0

    def start(self, clock_ms: Callable[[], int]) -> None:
        self._task = asyncio.create_task(self._beat(clock_ms), name=f"presence-{self.session_id}")

    async def _beat(self, clock_ms: Callable[[], int]) -> None:
        failing = False
        while True:
            beat = AgentBeat(job_id=self.job_id, clock_ms=clock_ms()).model_dump_json()
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.set(agent_beat_key(self.session_id), beat, px=int(self.period_s * BEAT_PERIODS * 1000))
                    pipe.set(agent_seen_key(self.session_id), beat, ex=SEEN_S)
                    await pipe.execute()
                if failing:
                    log.info("Redis reachable again: heartbeats of %s resumed", self.session_id)
                failing = False
            except RedisError as exc:
                if not failing:
                    log.warning("heartbeat of %s failed (%s); retrying every %.1f s", self.session_id, exc, self.period_s)
                failing = True
            await asyncio.sleep(self.period_s)

    async def aclose(self, *, ended: bool) -> None:
        """Stop beating; ``ended``: the session is over, so no one should take the room over."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if ended:
            try:
                await self._redis.delete(agent_beat_key(self.session_id), agent_seen_key(self.session_id))
            except RedisError as exc:
                log.warning("could not clear the presence of %s: %s", self.session_id, exc)
        await self._redis.aclose()
