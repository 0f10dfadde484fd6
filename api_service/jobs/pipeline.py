"""Batch transcription: decode → STT over the whole file in pieces (word timestamps) ‖
diarization over the whole file → a speaker for every word by overlap → segments → stored as a
new transcript version → session completed.

Safe to run twice: segments are keyed by (session, segment id, version), so a job that a dead
worker left half-done and another worker runs again never writes duplicates."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import dramatiq

from api_service import summaries
from api_service.db.engine import make_engine, sessionmaker
from api_service.db.models import AudioFile, Job, MeetingSession, Template
from api_service.domain.status import InvalidTransition, change_status, fail
from api_service.jobs.assign import attribute, segments_from_words
from api_service.jobs.broker import settings
from api_service.llm import LLMUnavailable, load_config
from api_service.storage import StorageError, make_storage
from api_service.transcripts import add_segments, latest_version, read_segments
from api_service.webhooks import emit, queue_deliveries
from shared.audio import SAMPLE_RATE, AudioError, quietest_moment
from shared.clients import DiarizationClient, ServiceRefused, ServiceUnavailable, SttClient
from shared.clients.diarization import pcm_headers
from shared.contracts.diarization import Turn
from shared.contracts.internal import SegmentIn, SessionStatus
from shared.contracts.jobs import JobStatus, TranscribeParams
from shared.contracts.webhooks import JobFailed as JobFailedEvent
from shared.contracts.webhooks import SessionCompleted
from shared.pcm_file import PcmFile, decode_to_file

log = logging.getLogger(__name__)
PIECE_S = 300  # STT request size: progress is reported per piece


class JobCancelled(Exception):
    pass


class JobFailed(Exception):
    """A failure that retrying will not fix (bad audio, a refused request)."""


def cut_points(audio: PcmFile, piece_s: int = PIECE_S, search_s: int = 20) -> list[tuple[int, int]]:
    """Pieces of about ``piece_s``, each cut at the quietest 100 ms in the last ``search_s``."""
    pieces, start = [], 0
    while audio.num_samples - start > piece_s * SAMPLE_RATE:
        lo, hi = start + (piece_s - search_s) * SAMPLE_RATE, start + piece_s * SAMPLE_RATE
        cut = lo + quietest_moment(audio.read(lo, hi))
        pieces.append((start, cut))
        start = cut
    pieces.append((start, audio.num_samples))
    return pieces


async def pcm_chunks(audio: PcmFile, chunk_s: int = 30) -> AsyncIterator[bytes]:
    """The whole recording as int16 PCM, read from its file a chunk at a time."""
    step = chunk_s * SAMPLE_RATE
    for start in range(0, audio.num_samples, step):
        yield await asyncio.to_thread(audio.read_pcm, start, start + step)


class Pipeline:
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.engine = make_engine(settings.database_url)
        self.sessions = sessionmaker(self.engine)
        self.stt = SttClient(settings.stt_url, caller="worker", service_keys=settings.service_keys, timeout=900, retries=4)
        self.diarization = DiarizationClient(
            settings.diarization_url, caller="worker", service_keys=settings.service_keys, timeout=1800, retries=4
        )
        self.storage = make_storage(settings)

    async def aclose(self) -> None:
        await self.stt.aclose()
        await self.diarization.aclose()
        await self.storage.aclose()
        await self.engine.dispose()

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

    async def load_audio(self, key: str, what: str) -> PcmFile:
        """A stored recording decoded to 16 kHz mono int16 in a scratch file (an hour is 115 MB
        there, rather than 230 MB of float32 and more in decode buffers in this process);
        unreadable audio fails the job."""
        limits = settings.audio_limits(settings.batch_max_upload_bytes, min_seconds=0)

        def decode(path: Path) -> PcmFile:
            with open(path, "rb") as file:
                return decode_to_file(file, limits)

        try:
            async with self.stored_copy(key, what) as path:
                return await asyncio.to_thread(decode, path)
        except AudioError as exc:
            raise JobFailed(f"{what} could not be decoded: {exc}") from exc

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
                self.transcribe(audio, params.language or session.language),
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

    async def summarize_if_asked(self, session_id: str) -> None:
        """The summary with the session's template, when it has one. A summary that fails does
        not fail the transcript: the job notes why."""
        async with self.sessions() as db:
            session = await db.get(MeetingSession, session_id)
            template = await db.get(Template, session.template_id) if session and session.template_id else None
            if session is None or template is None:
                return
            await self.update(stage="summarize", progress=95.0)
            _version, segments = await read_segments(db, session_id)
            try:
                result = await summaries.summarize(
                    load_config(settings.llm_config_file),
                    segments,
                    session.language,
                    template.sections,
                    template.template_content,
                )
            except (LLMUnavailable, ValueError) as exc:
                await self.update(error=f"transcript done; summary failed: {exc}")
                return
            _stored, deliveries = await summaries.store(db, session_id, session.user_id, template.id, result)
            await db.commit()
        queue_deliveries(deliveries)

    async def transcribe(self, audio: PcmFile, language: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Words with times from the file start, and the language (detected on the first piece
        when none was given, then held for the rest)."""
        pieces = cut_points(audio)
        words: list[dict[str, Any]] = []
        for n, (start, end) in enumerate(pieces):
            pcm = await asyncio.to_thread(audio.read_pcm, start, end)
            try:
                result = await self.stt.transcribe_pcm(pcm, sample_rate=SAMPLE_RATE, language=language)
            except ServiceRefused as exc:
                raise JobFailed(f"speech-to-text refused the audio: {exc}") from exc
            language = language or result.language
            words += [w.model_dump() for w in result.words(offset_ms=start * 1000 // SAMPLE_RATE)]
            await self.update(progress=5.0 + 80.0 * (n + 1) / len(pieces))
        return words, language

    async def diarize(self, audio: PcmFile, num_speakers: int | None) -> list[Turn]:
        pcm = pcm_headers(SAMPLE_RATE, 2 * audio.num_samples)
        return await self.diarize_body(lambda: pcm_chunks(audio), pcm, num_speakers)

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


async def execute(kind: type[Pipeline], job_id: str) -> None:
    """Run a job: a cancelled one just stops, a lasting failure fails it, and an outage of a
    service is re-raised for dramatiq to retry with backoff."""
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


async def fail_after_retries(kind: type[Pipeline], job_id: str, reason: str) -> None:
    process = kind(job_id)
    try:
        await process.fail(reason)
    finally:
        await process.aclose()


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
