"""What every job in the batch worker shares: its row (progress, cancellation), the database,
audio storage, the diarization client, the summary step (classification, summary, extraction),
and how a run ends (:func:`execute`):
a cancelled job just stops, a lasting failure fails it, and an outage of a service is re-raised
for dramatiq to retry with backoff. The batch pipeline and post-meeting processing are
subclasses that say what ``run`` does and what failing means for them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from api_service.db.engine import make_engine, sessionmaker
from api_service.db.models import Job
from api_service.domain.outputs import after_transcript
from api_service.jobs import broker
from api_service.jobs.deliveries import queue_deliveries
from api_service.llm import from_settings
from api_service.storage import StorageError, make_storage
from shared.clients import DiarizationClient, ServiceRefused, ServiceUnavailable
from shared.contracts.diarization import Turn
from shared.contracts.jobs import JobStatus

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    pass


class JobFailed(Exception):
    """A failure that retrying will not fix (bad audio, a refused request)."""


class JobRunner:
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.settings = broker.settings()
        self.engine = make_engine(self.settings.database_url)
        self.sessions = sessionmaker(self.engine)
        self.diarization = DiarizationClient(
            self.settings.diarization_url, caller="worker", service_keys=self.settings.service_keys, timeout=1800, retries=4
        )
        self.storage = make_storage(self.settings)

    async def run(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        await self.diarization.aclose()
        await self.storage.aclose()
        await self.engine.dispose()

    async def fail(self, reason: str) -> None:
        """The job failed for good (subclasses say what else that fails)."""
        await self.update(status=JobStatus.failed, error=reason)

    async def update(self, **fields: Any) -> Job:
        async with self.sessions() as db:
            job = await db.get(Job, self.job_id)
            if job is None:
                raise JobFailed("job vanished")
            if job.status == JobStatus.cancelled:
                raise JobCancelled
            for key, value in fields.items():
                setattr(job, key, value)
            await db.commit()
            return job

    @contextlib.asynccontextmanager
    async def stored_copy(self, key: str, what: str) -> AsyncIterator[Path]:
        """A local copy of a stored recording: storage outages are retried, a missing or
        unreadable object fails the job."""
        try:
            async with self.storage.local_copy(key) as path:
                yield path
        except StorageError as exc:
            if exc.retryable:
                raise ServiceUnavailable(f"audio storage: {exc}") from exc
            raise JobFailed(f"{what} could not be read from storage: {exc}") from exc

    async def diarize_body(
        self, stream: Callable[[], AsyncIterator[bytes]], headers: dict[str, str], num_speakers: int | None
    ) -> list[Turn]:
        """Exclusive speaker turns of the body that ``stream`` makes (an audio file, or PCM
        described by ``headers``); a retry streams it again."""
        try:
            result = await self.diarization.diarize(stream, headers, num_speakers=num_speakers)
        except ServiceRefused as exc:
            raise JobFailed(f"diarization refused the audio: {exc}") from exc
        return result.exclusive_turns

    async def summarize_if_asked(self, session_id: str) -> None:
        """Classification (a session without a template, when a model is configured), the
        template's summary and its extraction (``domain.outputs``). What fails there does not fail
        the transcript: the job notes why."""
        out = await after_transcript(
            self.sessions, from_settings(self.settings), session_id, lambda: self.update(stage="summarize", progress=95.0)
        )
        if out.problems:
            await self.update(error="transcript done; " + "; ".join(out.problems))
        queue_deliveries(out.deliveries)


async def execute(kind: type[JobRunner], job_id: str) -> None:
    """Run a job to its end (see the module's docstring)."""
    process = kind(job_id)
    try:
        await process.run()
    except JobCancelled:
        log.info("job %s cancelled", job_id)
    except JobFailed as exc:
        log.warning("job %s failed: %s", job_id, exc)
        await process.fail(str(exc))
    except ServiceUnavailable as exc:
        await process.update(error=f"retrying: {exc}")
        raise
    finally:
        await process.aclose()


async def fail_after_retries(kind: type[JobRunner], job_id: str, reason: str) -> None:
    """Every retry is spent: the job fails with ``reason``."""
    process = kind(job_id)
    try:
        await process.fail(reason)
    finally:
        await process.aclose()
