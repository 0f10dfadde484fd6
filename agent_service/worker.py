"""The livekit-agents worker: registers under an explicit agent name (so it only joins rooms the
API dispatches it to) and runs one job per room. A job transcribes every participant's audio
track, each with its own pipeline, started and stopped as tracks come and go."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time

from livekit import rtc
from livekit.agents import AgentServer, AutoSubscribe, JobContext, JobProcess, JobRequest

from agent_service.chat import MeetingChat
from agent_service.outbox import Outbox
from agent_service.presence import Presence
from agent_service.redaction import SessionRedaction
from agent_service.settings import AgentSettings
from agent_service.speakers import RoomMicrophoneSpeakers
from agent_service.track_transcriber import Speaker, SpeakerOf, TrackTranscriber, new_stt
from shared.clients import DiarizationClient, InternalApiClient, ServiceUnavailable, tls_context
from shared.contracts.internal import SegmentBatch, SegmentIn, SessionStatus, StatusChange
from shared.contracts.rooms import DEVICE_IDENTITY_PREFIX, AgentJobMetadata
from shared.contracts.vocabulary import VocabularyError, clean_vocabulary

log = logging.getLogger(__name__)


def metadata_of(ctx: JobContext) -> AgentJobMetadata:
    try:
        return AgentJobMetadata.model_validate_json(ctx.job.metadata or "{}")
    except ValueError:
        return AgentJobMetadata(session_id=ctx.room.name.removeprefix("intrascribe-"))


def session_id_of(ctx: JobContext) -> str:
    return metadata_of(ctx).session_id


class RoomTranscription:
    """Everything one room job owns: the API clients, the session's outbox (what goes to the API
    waits there on disk until it is accepted), one transcriber per audio track."""

    def __init__(self, ctx: JobContext, settings: AgentSettings, presence: Presence) -> None:
        self.ctx = ctx
        self.settings = settings
        self.session_id = session_id_of(ctx)
        self.presence = presence
        self.api = InternalApiClient(settings.api_url, caller="agent", service_keys=settings.service_keys, retries=5)
        # Live speaker attribution waits for this before a caption goes out: fail fast and keep
        # the previous speaker rather than hold captions up.
        self.diarization = DiarizationClient(
            settings.diarization_url, caller="agent", service_keys=settings.service_keys, retries=0, timeout=3
        )
        # The outbox retries for as long as it takes; each attempt is one quick call (recordings
        # are streamed from disk, and so retried by the outbox, not by the client).
        self.deliveries = InternalApiClient(
            settings.api_url, caller="agent", service_keys=settings.service_keys, retries=0, timeout=30
        )
        # Questions typed in the chat wait for a model's answer: one call, up to two minutes.
        self.chat = MeetingChat(
            ctx.room,
            InternalApiClient(settings.api_url, caller="agent", service_keys=settings.service_keys, retries=0, timeout=120),
            self.session_id,
            settings.agent_chat_handle,
        )
        # One STT plugin for the room; each audio track gets its own stream of it.
        self.stt = new_stt(settings.stt_url, settings.service_keys.get("agent"))
        self.outbox = Outbox(settings.agent_outbox_dir, self.session_id, self.deliveries)
        self.outbox.start()
        self.language: str | None = None
        self.vocabulary: list[str] = []
        self.redaction = SessionRedaction(metadata_of(ctx).redaction)
        self.started = time.monotonic()
        self.start_offset_ms = 0
        self.tasks: dict[str, tuple[TrackTranscriber, asyncio.Task[None]]] = {}
        self.background: set[asyncio.Task[None]] = set()

    async def load_session(self) -> None:
        try:
            info = await self.api.session(self.session_id)
        except ServiceUnavailable as exc:
            log.warning("API unreachable for session %s (%s); transcribing, the outbox keeps what it hears", self.session_id, exc)
            self.outbox.put("status", StatusChange(status=SessionStatus.live).model_dump(mode="json"))
            return
        if info is None:
            log.warning("session %s unknown to the API; transcribing without storing", self.session_id)
            return
        self.language = info.language
        self.redaction.update(info.redaction)
        try:
            self.vocabulary = clean_vocabulary(info.vocabulary)
        except VocabularyError as exc:  # stored under other rules: transcribe without it rather than not at all
            log.warning("session %s: vocabulary not used (%s)", self.session_id, exc)
        # A restarted job continues the session's clock (from the last job's last heartbeat when
        # that job died), so new segments follow earlier ones.
        self.start_offset_ms = max(info.duration_ms, await self.presence.last_clock_ms())
        self.outbox.put("status", StatusChange(status=SessionStatus.live).model_dump(mode="json"))

    def offset_now_ms(self) -> int:
        return self.start_offset_ms + int((time.monotonic() - self.started) * 1000)

    async def store_final(self, segment: SegmentIn) -> None:
        self.outbox.put("segments", SegmentBatch(segments=[segment]).model_dump(mode="json"))

    async def store_recording(self, identity: str, path: str, offset_ms: int) -> None:
        """A participant's recording (raw PCM, written in the outbox's folder) goes out as WAV."""
        self.outbox.put("recording", {"track": identity, "offset_ms": offset_ms}, recording=path)

    async def announce_delay(self, delayed: bool) -> None:
        await self.ctx.room.local_participant.set_attributes({"intrascribe.captions_delayed": "true" if delayed else "false"})

    def room_microphone(self, participant: rtc.RemoteParticipant) -> SpeakerOf | None:
        """Devices (bridged ESP32 microphones) carry several people: tell them apart by voice."""
        if not participant.identity.startswith(DEVICE_IDENTITY_PREFIX):
            return None
        return RoomMicrophoneSpeakers(self.diarization, self.settings.agent_room_mic_speaker_threshold or None).speaker_of

    def start_track(self, track: rtc.RemoteAudioTrack, participant: rtc.RemoteParticipant) -> None:
        if track.sid in self.tasks:
            return
        transcriber = TrackTranscriber(
            self.ctx.room,
            track,
            Speaker(participant.identity, participant.name or participant.identity),
            stt=self.stt,
            language=self.language,
            vocabulary=self.vocabulary,
            redactor=self.redaction,
            offset_ms=self.offset_now_ms(),
            on_final=self.store_final,
            on_delay=self.announce_delay,
            on_recording=functools.partial(self.store_recording, participant.identity),
            recording_dir=str(self.outbox.dir),
            speaker_of=self.room_microphone(participant),
        )
        task = asyncio.create_task(transcriber.run(), name=f"transcribe-{participant.identity}")
        self.tasks[track.sid] = (transcriber, task)
        sid = track.sid
        task.add_done_callback(lambda _task: self.tasks.pop(sid, None))
        log.info("transcribing %s (track %s)", participant.identity, track.sid)

    async def stop_track(self, sid: str) -> None:
        log.info("track %s ended (%s)", sid, "transcribing" if sid in self.tasks else "not transcribed")
        if sid in self.tasks:
            transcriber, task = self.tasks[sid]
            await transcriber.aclose()
            await asyncio.wait({task}, timeout=60)

    async def finish(self) -> None:
        await asyncio.gather(*(self.stop_track(sid) for sid in list(self.tasks)))
        await self.presence.aclose(ended=True)
        completed = StatusChange(status=SessionStatus.completed, duration_ms=self.offset_now_ms())
        self.outbox.put("status", completed.model_dump(mode="json", exclude_none=True))
        if not await self.outbox.drain(within_s=self.settings.agent_outbox_drain_s):
            log.warning("API unreachable: %d entries of %s left on disk for the sweeper", self.outbox.pending(), self.session_id)
        await self.outbox.aclose()
        self.outbox.remove_if_empty()
        await self.redaction.aclose()
        await self.chat.aclose()
        for client in (self.api, self.deliveries, self.diarization, self.chat.api):
            await client.aclose()
        await self.stt.aclose()


async def room_entrypoint(ctx: JobContext) -> None:
    settings = AgentSettings()
    presence = Presence(settings.redis_url, session_id_of(ctx), ctx.job.id, settings.agent_heartbeat_s)
    if other := await presence.other_job():
        # Dispatched twice (a slow job taken for dead): the first one keeps the room.
        log.warning("job %s already transcribes session %s; leaving", other, presence.session_id)
        await presence.aclose(ended=False)
        ctx.shutdown("another job transcribes this room")
        return
    job = RoomTranscription(ctx, settings, presence)
    await job.load_session()
    presence.start(job.offset_now_ms)
    job.redaction.follow(job.deliveries, job.session_id)
    ctx.add_shutdown_callback(job.finish)
    await ctx.connect(auto_subscribe=AutoSubscribe.AUDIO_ONLY)
    job.chat.listen()
    log.info("joined %s for session %s", ctx.room.name, job.session_id)

    @ctx.room.on("track_subscribed")
    def _subscribed(track: rtc.Track, _pub: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant) -> None:
        if isinstance(track, rtc.RemoteAudioTrack):
            job.start_track(track, participant)

    @ctx.room.on("track_unsubscribed")
    def _unsubscribed(track: rtc.Track, _pub: rtc.RemoteTrackPublication, _participant: rtc.RemoteParticipant) -> None:
        job.background.add(task := asyncio.create_task(job.stop_track(track.sid)))
        task.add_done_callback(job.background.discard)

    # When everyone has left, end the job (and so finalize the session) after a grace period.
    idle: dict[str, asyncio.TimerHandle] = {}

    def people() -> int:
        return sum(p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT for p in ctx.room.remote_participants.values())

    @ctx.room.on("participant_disconnected")
    def _left(_participant: rtc.RemoteParticipant) -> None:
        if people() == 0 and "timer" not in idle:
            idle["timer"] = asyncio.get_running_loop().call_later(settings.agent_empty_room_timeout_s, ctx.shutdown, "room empty")

    @ctx.room.on("participant_connected")
    def _joined(_participant: rtc.RemoteParticipant) -> None:
        if "timer" in idle:
            idle.pop("timer").cancel()

    # Tracks published before we joined.
    for participant in ctx.room.remote_participants.values():
        for publication in participant.track_publications.values():
            if isinstance(publication.track, rtc.RemoteAudioTrack):
                job.start_track(publication.track, participant)


def prewarm(_process: JobProcess) -> None:
    """What every room job needs before its room exists, done while its process waits in the
    pool: the job then only talks to the API, Redis and LiveKit. (The modules themselves are
    imported once in the fork server: ``preload_modules``.)"""
    tls_context()


def build_server(settings: AgentSettings) -> AgentServer:
    server = AgentServer(
        ws_url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret,
        host="127.0.0.1",
        port=0,  # the SDK's own status page; ours is AGENT_HTTP_PORT
        num_idle_processes=settings.agent_idle_processes,
        # Job processes fork with this code imported (and what httpx imports only at its first
        # request) and prewarm() done: 8 meetings starting together had each job spend seconds
        # importing and loading certificates (bench/join).
        preload_modules=[__name__, "httpcore", "anyio._backends._asyncio"],
        setup_fnc=prewarm,
        drain_timeout=settings.agent_drain_timeout_s,
        job_memory_warn_mb=150,
        # Load is rooms per worker, not the machine's CPU: the heavy work runs in the STT
        # service, often on the same machine, and must not make LiveKit stop dispatching to us.
        load_fnc=lambda worker: len(worker.active_jobs) / settings.agent_max_rooms,
        # The room limit is kept by admit(), not by a load threshold: with no job running the
        # SDK guesses each new job's load as threshold / idle processes, so a burst of meetings
        # starting together was refused after the first one or two and LiveKit dropped the rest.
        load_threshold=math.inf,
    )

    async def admit(request: JobRequest) -> None:
        if len(server.active_jobs) >= settings.agent_max_rooms:
            log.warning("at %d rooms; passing room %s to another worker", settings.agent_max_rooms, request.room.name)
            await request.reject(terminate=False)
        else:
            await request.accept()

    server.rtc_session(room_entrypoint, agent_name=settings.agent_name, on_request=admit)
    return server
