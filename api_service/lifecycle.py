"""What happens when a live session is completed, whoever completes it (the agent's status call,
or the sweep of sessions whose agent never said so): the ``session.completed`` webhooks, the
post-meeting job when there is something to do, and the status on the live feed."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from api_service import realtime
from api_service.db.models import MeetingSession
from api_service.jobs import queue
from api_service.jobs.deliveries import notify
from api_service.jobs.post_meeting import process_meeting, queue_post_processing
from shared.contracts.webhooks import SessionCompleted


async def completed(db: AsyncSession, row: MeetingSession, redis: Redis, *, delay_s: float = 0) -> None:
    """After ``row`` became completed and was committed. ``delay_s``: how long post-meeting
    processing waits (a meeting ended by its owner: the agent's last finals are still coming)."""
    await notify(
        db,
        row.user_id,
        SessionCompleted(session_id=row.id, title=row.title, source=row.source, duration_ms=row.duration_ms),
    )
    await post_process(db, row, delay_s=delay_s)
    await realtime.publish(redis, row.id, "status", {"status": row.status})


async def post_process(db: AsyncSession, row: MeetingSession, *, delay_s: float = 0) -> None:
    """Re-diarize room microphones and write the template's summary, in the batch worker (when
    there is something to do and no such job is pending), after ``delay_s``."""

    def send(job_id: str) -> object:
        return process_meeting.send_with_options(args=(job_id,), delay=int(delay_s * 1000) or None)

    if job_id := await queue_post_processing(db, row):
        await db.commit()
        await queue.enqueue(db, job_id, send)
