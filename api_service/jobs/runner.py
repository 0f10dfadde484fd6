"""What every job in the batch worker shares: its row (progress, cancellation), the database,
audio storage, the STT and diarization clients (a stored recording decoded and transcribed in
pieces), the summary step (classification, summary, extraction), and how a run ends (:func:`execute`):
a cancelled job just stops, a lasting failure fails it, and an outage of a service is re-raised
for dramatiq to retry with backoff. The batch pipeline and post-meeting processing are
subclasses that say what ``run`` does and what failing means for them."""

from __future__ import annotations

import asyncio
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
from shared.audio import SAMPLE_RATE, AudioError, quietest_moment
from shared.clients import DiarizationClient, ServiceRefused, ServiceUnavailable, SttClient
from shared.contracts.diarization import Turn
from shared.contracts.jobs import JobStatus
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
        self.stt = SttClient(
            self.settings.stt_url, caller="worker", service_keys=self.settings.service_keys, timeout=900, retries=4
        )
        self.storage = make_storage(self.settings)

    async def run(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        await self.stt.aclose()
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

    async def transcribe(
        self,
        audio: PcmFile,
        language: str | None,
        vocabulary: list[str] | None = None,
        progress: tuple[float, float] = (5.0, 85.0),
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Words with times from the file start, and the language (detected on the first piece
        when none was given, then held for the rest); recognition is biased toward ``vocabulary``.
        The job's progress moves across ``progress`` piece by piece."""
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
            await self.update(progress=progress[0] + (progress[1] - progress[0]) * (n + 1) / len(pieces))
        return words, language

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
