"""Handing a committed job to the queue (dramatiq on Redis) from the API. A Redis blip is
retried; when the queue stays unreachable the job fails with a reason, instead of staying
``queued`` for ever, and the caller says so."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from dramatiq.errors import BrokerError
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import Job, MeetingSession
from api_service.domain.status import fail
from shared.contracts.internal import SessionStatus
from shared.contracts.jobs import JobStatus

log = logging.getLogger(__name__)

QUEUE_DOWN = "The job queue is unreachable right now; the recording is kept, so start the job again in a minute."
ATTEMPTS = 3


async def enqueue(db: AsyncSession, job_id: str, send: Callable[[str], object]) -> bool:
    """``send(job_id)`` (an actor's ``send``) for a committed job, retried with backoff. False
    when it never got through: the job (and a session waiting on it) is then failed with
    ``QUEUE_DOWN``."""
    for attempt in range(ATTEMPTS):
        try:
            await asyncio.to_thread(send, job_id)
            return True
        except (RedisError, BrokerError, OSError) as exc:
            log.warning("enqueueing job %s failed (attempt %d): %s", job_id, attempt + 1, exc)
            if attempt + 1 < ATTEMPTS:
                await asyncio.sleep(0.5 * 2**attempt)
    job = await db.get(Job, job_id)
    if job is None:
        return False
    job.status, job.error = JobStatus.failed, QUEUE_DOWN
    if job.session_id and (row := await db.get(MeetingSession, job.session_id)) and row.status == SessionStatus.processing:
        fail(row, QUEUE_DOWN)
    await db.commit()
    return False
