"""Batch transcription: decode → STT over the whole file in pieces (word timestamps, biased
toward the session's custom vocabulary) ‖ diarization over the whole file → a speaker for every
word by overlap → segments → stored as a new transcript version → session completed.

Safe to run twice: segments are keyed by (session, segment id, version), so a job that a dead
worker left half-done and another worker runs again never writes duplicates."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import dramatiq

from api_service.db.models import AudioFile, MeetingSession
from api_service.domain.status import InvalidTransition, change_status, fail
from api_service.jobs.assign import attribute, segments_from_words
from api_service.jobs.deliveries import queue_deliveries
from api_service.jobs.runner import JobFailed, JobRunner, execute, fail_after_retries
from api_service.transcripts import add_segments, latest_version
from api_service.webhooks import emit
from shared.audio import SAMPLE_RATE, AudioError, quietest_moment
from shared.clients import ServiceRefused, SttClient
from shared.clients.diarization import pcm_headers
from shared.contracts.diarization import Turn
from shared.contracts.internal import SegmentIn, SessionStatus
from shared.contracts.jobs import JobStatus, TranscribeParams
from shared.contracts.webhooks import JobFailed as JobFailedEvent
from shared.contracts.webhooks import SessionCompleted
from shared.pcm_file import PcmFile, decode_to_file

log = logging.getLogger(__name__)
PIECE_S = 300  # STT request size: progress is reported per piece


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


class Pipeline(JobRunner):
    """Batch transcription of an uploaded recording (the module's docstring)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.stt = SttClient(
            self.settings.stt_url, caller="worker", service_keys=self.settings.service_keys, timeout=900, retries=4
        )

    async def aclose(self) -> None:
        await self.stt.aclose()
        await super().aclose()

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

    async def load_audio(self, key: str, what: str) -> PcmFile:
        """A stored recording decoded to 16 kHz mono int16 in a scratch file (an hour is 115 MB
        there, rather than 230 MB of float32 and more in decode buffers in this process);
        unreadable audio fails the job."""
        limits = self.settings.audio_limits(self.settings.batch_max_upload_bytes, min_seconds=0)

        def decode(path: Path) -> PcmFile:
            with open(path, "rb") as file:
                return decode_to_file(file, limits)

        try:
            async with self.stored_copy(key, what) as path:
                return await asyncio.to_thread(decode, path)
        except AudioError as exc:
            raise JobFailed(f"{what} could not be decoded: {exc}") from exc

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

    async def transcribe(
        self, audio: PcmFile, language: str | None, vocabulary: list[str] | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Words with times from the file start, and the language (detected on the first piece
        when none was given, then held for the rest); recognition is biased toward ``vocabulary``."""
        pieces = cut_points(audio)
        words: list[dict[str, Any]] = []
        for n, (start, end) in enumerate(pieces):
            pcm = await asyncio.to_thread(audio.read_pcm, start, end)
            try:
                result = await self.stt.transcribe_pcm(pcm, sample_rate=SAMPLE_RATE, language=language, vocabulary=vocabulary)
            except ServiceRefused as exc:
                raise JobFailed(f"speech-to-text refused the audio: {exc}") from exc
            language = language or result.language
            words += [w.model_dump() for w in result.words(offset_ms=start * 1000 // SAMPLE_RATE)]
            await self.update(progress=5.0 + 80.0 * (n + 1) / len(pieces))
        return words, language

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
