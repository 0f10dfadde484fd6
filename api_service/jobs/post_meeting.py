"""After a live meeting ends:

1. Each participant's recording is transcribed again with the whole recording as context and word
   timings (POST_MEETING_RETRANSCRIBE): the live text of that track is replaced by it in a new
   transcript version (the live one is kept as the version before). A new segment keeps the id of
   the live segment it overlaps most, so links to a line survive. A recording whose new text has
   fewer than half the live words keeps its live text: nothing heard live is lost to a bad decode.
2. Full diarization of each room microphone's recording (an ESP32 device carries several people,
   told apart only roughly while live), speaker labels of that track's segments corrected from it.
   Live labels are kept where the full diarization agrees (a diarized speaker takes the live label
   it overlaps most), so names a user already gave stay put.
3. The summary when the session has a template (and, with a model configured, the classification
   that picks one, and the template's extraction)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import dramatiq
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import AudioFile, Job, MeetingSession, TranscriptSegment
from api_service.jobs import broker
from api_service.jobs.assign import Redone, next_version, relabel, segments_from_words
from api_service.jobs.runner import JobRunner, execute, fail_after_retries
from api_service.transcripts import add_segments, ensure_speakers, latest_version, read_segments
from shared.clients import file_chunks
from shared.contracts.diarization import Turn
from shared.contracts.jobs import JobStatus
from shared.contracts.rooms import DEVICE_IDENTITY_PREFIX

log = logging.getLogger(__name__)


class MeetingPostProcess(JobRunner):
    async def run(self) -> None:
        job = await self.update(status=JobStatus.running, stage="retranscribe", progress=2.0, error=None)
        assert job.session_id is not None
        async with self.sessions() as db:
            recordings = list(
                (
                    await db.execute(
                        select(AudioFile).where(AudioFile.session_id == job.session_id).order_by(AudioFile.offset_ms)
                    )
                ).scalars()
            )
        devices = [r for r in recordings if r.track.startswith(DEVICE_IDENTITY_PREFIX)]
        people = [r for r in recordings if r not in devices and r.track != "upload"]
        redone = await self.retranscribe(job.session_id, people) if self.settings.post_meeting_retranscribe else 0
        await self.update(stage="diarize", progress=60.0)
        changed = 0
        for n, recording in enumerate(devices):
            changed += await self.rediarize(recording)
            await self.update(progress=60.0 + 30.0 * (n + 1) / max(1, len(devices)))
        await self.summarize_if_asked(job.session_id)
        params = {**job.params, "relabelled": changed, "retranscribed": redone}
        await self.update(status=JobStatus.completed, stage="done", progress=100.0, params=params)
        log.info(
            "post-meeting %s: %d of %d recordings transcribed again, %d segments relabelled",
            job.session_id,
            redone,
            len(people),
            changed,
        )

    async def retranscribe(self, session_id: str, recordings: list[AudioFile]) -> int:
        """Step 1 of the module's docstring; how many recordings' text was replaced."""
        async with self.sessions() as db:
            meeting = await db.get(MeetingSession, session_id)
            if meeting is None:
                return 0
            language, vocabulary = meeting.language, list(meeting.vocabulary or [])
        redone: list[Redone] = []
        for n, recording in enumerate(recordings):
            if recording.duration_ms < self.settings.min_audio_seconds * 1000:
                continue
            share = (2.0 + 58.0 * n / len(recordings), 2.0 + 58.0 * (n + 1) / len(recordings))
            audio = await self.load_audio(recording.storage_key, f"recording {recording.id}")
            try:
                words, found = await self.transcribe(audio, language, vocabulary, progress=share)
            finally:
                audio.close()
            offset = recording.offset_ms
            on_clock = [
                {**w, "start_ms": w["start_ms"] + offset, "end_ms": w["end_ms"] + offset, "speaker": recording.track}
                for w in words
            ]
            end = offset + recording.duration_ms + 1000
            redone.append(Redone(recording.track, offset, end, segments_from_words(on_clock, language or found)))
        if not redone:
            return 0
        async with self.sessions() as db:
            version, live = await read_segments(db, session_id)
            rows, replaced = next_version(live, redone)
            if replaced:
                await add_segments(db, session_id, rows, version=version + 1)
                await db.commit()
        return replaced

    async def rediarize(self, recording: AudioFile) -> int:
        if recording.duration_ms < self.settings.min_audio_seconds * 1000:
            return 0  # too short to diarize: the live labels stand
        # The stored WAV is streamed to the diarization service as it is: no decoding here.
        async with self.stored_copy(recording.storage_key, f"recording {recording.id}") as path:
            headers = {"Content-Type": recording.content_type, "Content-Length": str(path.stat().st_size)}
            diarized = await self.diarize_body(lambda: file_chunks(path), headers, None)
        turns = [Turn(t.start_ms + recording.offset_ms, t.end_ms + recording.offset_ms, t.speaker) for t in diarized]
        async with self.sessions() as db:
            version = await latest_version(db, recording.session_id)
            rows = (
                await db.execute(
                    select(
                        TranscriptSegment.segment_id,
                        TranscriptSegment.start_ms,
                        TranscriptSegment.end_ms,
                        TranscriptSegment.speaker,
                    ).where(
                        TranscriptSegment.session_id == recording.session_id,
                        TranscriptSegment.version == version,
                        TranscriptSegment.speaker.startswith(f"{recording.track}:"),
                    )
                )
            ).all()
            current = {r[0]: r[3] for r in rows}
            labels = relabel([(r[0], r[1], r[2], r[3] or "") for r in rows], turns, recording.track)
            moved = {sid: label for sid, label in labels.items() if label != current[sid]}
            for segment_id, label in moved.items():
                await db.execute(
                    update(TranscriptSegment)
                    .where(
                        TranscriptSegment.session_id == recording.session_id,
                        TranscriptSegment.version == version,
                        TranscriptSegment.segment_id == segment_id,
                    )
                    .values(speaker=label)
                )
            await ensure_speakers(db, recording.session_id, dict.fromkeys(moved.values()))
            await db.commit()
        return len(moved)


@dramatiq.actor(queue_name="batch")
def post_meeting_retries_exhausted(message: dict[str, Any], _retry_info: dict[str, Any]) -> None:
    asyncio.run(
        fail_after_retries(MeetingPostProcess, message["args"][0], "the diarization service or storage stayed unavailable")
    )


@dramatiq.actor(
    queue_name="batch",
    max_retries=3,
    min_backoff=5_000,
    max_backoff=120_000,
    time_limit=3 * 3600 * 1000,
    on_retry_exhausted="post_meeting_retries_exhausted",
)
def process_meeting(job_id: str) -> None:
    asyncio.run(execute(MeetingPostProcess, job_id))


async def queue_post_processing(db_session: AsyncSession, meeting: MeetingSession) -> str | None:
    """A post-meeting job row when there is something to do (a recording, a template, or a model
    to classify the session with); the caller sends ``process_meeting`` once the row is committed."""
    has_recording = await db_session.scalar(
        select(AudioFile.id).where(AudioFile.session_id == meeting.id, AudioFile.track != "upload").limit(1)
    )
    settings = broker.settings()
    has_model = bool(settings.llm_model.strip() or settings.llm_config_file)
    if not has_recording and not meeting.template_id and not has_model:
        return None
    pending = await db_session.scalar(
        select(Job.id)
        .where(Job.session_id == meeting.id, Job.kind == "post_meeting", Job.status.in_((JobStatus.queued, JobStatus.running)))
        .limit(1)
    )
    if pending:
        return None  # it will find this recording too
    job = Job(user_id=meeting.user_id, session_id=meeting.id, kind="post_meeting", params={})
    db_session.add(job)
    await db_session.flush()
    return job.id
