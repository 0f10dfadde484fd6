"""Batch transcription: decode → STT over the whole file in pieces (word timestamps, biased
toward the session's custom vocabulary) ‖ diarization over the whole file → a speaker for every
word by overlap → segments → stored as a new transcript version → session completed.

Safe to run twice: segments are keyed by (session, segment id, version), so a job that a dead
worker left half-done and another worker runs again never writes duplicates."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import dramatiq

from api_service.db.models import AudioFile, MeetingSession
from api_service.domain.status import InvalidTransition, change_status, fail
from api_service.jobs.assign import attribute, segments_from_words
from api_service.jobs.deliveries import queue_deliveries
from api_service.jobs.runner import JobFailed, JobRunner, execute, fail_after_retries
from api_service.transcripts import add_segments, latest_version
from api_service.webhooks import emit
from shared.audio import SAMPLE_RATE
from shared.clients.diarization import pcm_headers
from shared.contracts.diarization import Turn
from shared.contracts.internal import SegmentIn, SessionStatus
from shared.contracts.jobs import JobStatus, TranscribeParams
from shared.contracts.webhooks import JobFailed as JobFailedEvent
from shared.contracts.webhooks import SessionCompleted
from shared.pcm_file import PcmFile

log = logging.getLogger(__name__)


async def pcm_chunks(audio: PcmFile, chunk_s: int = 30) -> AsyncIterator[bytes]:
    """The whole recording as int16 PCM, read from its file a chunk at a time."""
    step = chunk_s * SAMPLE_RATE
    for start in range(0, audio.num_samples, step):
        yield await asyncio.to_thread(audio.read_pcm, start, start + step)


class Pipeline(JobRunner):
    """Batch transcription of an uploaded recording (the module's docstring)."""

    async def fail(self, reason: str) -> None:
        """The job failed for good: so does its session, and the user is told (job.failed)."""
        job = await self.update(status=JobStatus.failed, error=reason)
        async with self.sessions() as db:
            session = await db.get(MeetingSession, job.session_id)
            if session is not None:
                fail(session, reason)
            deliveries = await emit(
                db, job.user_id, JobFailedEvent(job_id=job.id, session_id=job.session_id, error=reason), job_id=job.id
            )
            await db.commit()
        queue_deliveries(deliveries)

    async def run(self) -> None:
        job = await self.update(status=JobStatus.running, stage="decode", progress=2.0, error=None)
        params = TranscribeParams.model_validate(job.params)
        async with self.sessions() as db:
            session = await db.get(MeetingSession, job.session_id)
            audio_file = await db.get(AudioFile, params.audio_file_id)
            if session is None or audio_file is None:
                raise JobFailed("the session or its audio is gone")
        audio = await self.load_audio(audio_file.storage_key, "the audio")
        try:
            await self.update(stage="transcribe", progress=5.0)
            (words, language), turns = await asyncio.gather(
                self.transcribe(audio, params.language or session.language, list(session.vocabulary or [])),
                self.diarize(audio, params.num_speakers),
            )
        finally:
            audio.close()
        await self.update(stage="align", progress=90.0)
        segments = segments_from_words(attribute(words, turns), language)
        async with self.sessions() as db:
            version = params.version or await latest_version(db, session.id)
            rows = [SegmentIn(segment_id=f"seg-{n:05d}", **segment) for n, segment in enumerate(segments)]
            await add_segments(db, session.id, rows, version=version)
            stored = await db.get(MeetingSession, session.id)
            assert stored is not None
            try:
                change_status(stored, SessionStatus.completed)
            except InvalidTransition as exc:  # cancelled (failed) while this job ran
                raise JobFailed(str(exc)) from exc
            stored.duration_ms = audio.num_samples * 1000 // SAMPLE_RATE
            if language and not stored.language:
                stored.language = language
            completed = SessionCompleted(
                session_id=stored.id,
                title=stored.title,
                source=stored.source,
                duration_ms=stored.duration_ms,
                job_id=self.job_id,
                segments=len(segments),
                speakers=len({s["speaker"] for s in segments}),
            )
            deliveries = await emit(db, stored.user_id, completed, job_id=self.job_id)
            await db.commit()
        queue_deliveries(deliveries)
        await self.summarize_if_asked(session.id)
        await self.update(status=JobStatus.completed, stage="done", progress=100.0)
        log.info("job %s: %d segments, %d speakers", self.job_id, len(segments), len({t.speaker for t in turns}))

    async def diarize(self, audio: PcmFile, num_speakers: int | None) -> list[Turn]:
        pcm = pcm_headers(SAMPLE_RATE, 2 * audio.num_samples)
        return await self.diarize_body(lambda: pcm_chunks(audio), pcm, num_speakers)


@dramatiq.actor(queue_name="batch")
def job_retries_exhausted(message: dict[str, Any], _retry_info: dict[str, Any]) -> None:
    """The services stayed unreachable through every retry: the job fails with the reason."""

    asyncio.run(
        fail_after_retries(Pipeline, message["args"][0], "the transcription services stayed unavailable; try again later")
    )


@dramatiq.actor(
    queue_name="batch",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=300_000,
    time_limit=6 * 3600 * 1000,
    on_retry_exhausted="job_retries_exhausted",
)
def transcribe_upload(job_id: str) -> None:
    asyncio.run(execute(Pipeline, job_id))
