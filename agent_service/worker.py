"""The livekit-agents worker: registers under an explicit agent name (so it only joins rooms the
API dispatches it to) and runs one job per room. A job transcribes every participant's audio
track, each with its own pipeline, started and stopped as tracks come and go."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import os
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

from livekit import rtc
from livekit.agents import AgentServer, AutoSubscribe, JobContext, JobRequest

from agent_service.settings import AgentSettings
from agent_service.speakers import RoomMicrophoneSpeakers
from agent_service.track_transcriber import Speaker, SpeakerOf, TrackTranscriber
from shared.clients import ServiceClient, ServiceUnavailable, file_chunks
from shared.schemas import DEVICE_IDENTITY_PREFIX
from shared.service_auth import service_header

log = logging.getLogger(__name__)


async def wav_stream(path: str, size: int) -> AsyncIterator[bytes]:
    """A 16 kHz mono 16-bit WAV of the raw PCM file at ``path``, in chunks."""
    yield b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    yield b"data" + struct.pack("<I", size)
    async for chunk in file_chunks(path):
        yield chunk


def session_id_of(ctx: JobContext) -> str:
    try:
        return str(json.loads(ctx.job.metadata or "{}")["session_id"])
    except (ValueError, KeyError):
        return ctx.room.name.removeprefix("intrascribe-")


class RoomTranscription:
    """Everything one room job owns: the API client, one transcriber per audio track."""

    def __init__(self, ctx: JobContext, settings: AgentSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.session_id = session_id_of(ctx)
        self.api = ServiceClient(settings.api_url, caller="agent", service_keys=settings.service_keys, retries=5)
        # Uploads are streamed from disk and so retried by store_recording, not by the client.
        # Live speaker attribution waits for this before a caption goes out: fail fast and keep
        # the previous speaker rather than hold captions up.
        self.diarization = ServiceClient(
            settings.diarization_url, caller="agent", service_keys=settings.service_keys, retries=0, timeout=3
        )
        self.uploads = ServiceClient(settings.api_url, caller="agent", service_keys=settings.service_keys, retries=0, timeout=600)
        self.language: str | None = None
        self.started = time.monotonic()
        self.start_offset_ms = 0
        self.tasks: dict[str, tuple[TrackTranscriber, asyncio.Task[None]]] = {}
        self.background: set[asyncio.Task[None]] = set()

    async def load_session(self) -> None:
        response = await self.api.get(f"/internal/v1/sessions/{self.session_id}")
        if response.status_code == 200:
            body = response.json()
            self.language = body.get("language")
            # A restarted job continues the session's clock, so new segments follow earlier ones.
            self.start_offset_ms = int(body.get("duration_ms") or 0)
            await self.api.post(f"/internal/v1/sessions/{self.session_id}/status", json={"status": "live"})
        else:
            log.warning("session %s unknown to the API (%s); transcribing without storing", self.session_id, response.status_code)

    def offset_now_ms(self) -> int:
        return self.start_offset_ms + int((time.monotonic() - self.started) * 1000)

    async def store_final(self, segment: dict[str, Any]) -> None:
        try:
            response = await self.api.post(f"/internal/v1/sessions/{self.session_id}/segments", json={"segments": [segment]})
            if response.status_code >= 400:
                log.error("API refused segment %s: %s %s", segment["segment_id"], response.status_code, response.text[:200])
        except ServiceUnavailable as exc:
            log.error("could not store segment %s: %s", segment["segment_id"], exc)

    async def store_recording(self, identity: str, path: str, offset_ms: int) -> None:
        """Upload a participant's recording as WAV, streamed from disk (an hour is ~115 MB)."""
        try:
            size = os.path.getsize(path)  # noqa: ASYNC240 - one stat call
            for attempt in range(3):
                response = await self.uploads.post(
                    f"/internal/v1/sessions/{self.session_id}/recordings",
                    params={"track": identity, "offset_ms": offset_ms},
                    content=wav_stream(path, size),
                    headers={"Content-Type": "audio/wav"},
                )
                if response.status_code < 500:
                    if response.status_code >= 400:
                        log.error("API refused the recording of %s: %s", identity, response.text[:200])
                    else:
                        log.info("stored %d s of %s's audio", size // 32000, identity)
                    return
                await asyncio.sleep(2**attempt)
        except Exception as exc:  # a lost recording must not end the job
            log.error("could not store the recording of %s: %s", identity, exc)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    async def announce_delay(self, delayed: bool) -> None:
        await self.ctx.room.local_participant.set_attributes({"intrascribe.captions_delayed": "true" if delayed else "false"})

    def room_microphone(self, participant: rtc.RemoteParticipant) -> SpeakerOf | None:
        """Devices (bridged ESP32 microphones) carry several people: tell them apart by voice."""
        if not participant.identity.startswith(DEVICE_IDENTITY_PREFIX):
            return None
        return RoomMicrophoneSpeakers(self.diarization, self.settings.agent_room_mic_speaker_threshold).speaker_of

    def start_track(self, track: rtc.RemoteAudioTrack, participant: rtc.RemoteParticipant) -> None:
        if track.sid in self.tasks:
            return
        transcriber = TrackTranscriber(
            self.ctx.room,
            track,
            Speaker(participant.identity, participant.name or participant.identity),
            stt_url=self.settings.stt_url,
            stt_headers=service_header("agent", self.settings.service_keys),
            language=self.language,
            offset_ms=self.offset_now_ms(),
            on_final=self.store_final,
            on_delay=self.announce_delay,
            on_recording=functools.partial(self.store_recording, participant.identity),
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
        try:
            await self.api.post(
                f"/internal/v1/sessions/{self.session_id}/status",
                json={"status": "completed", "duration_ms": self.offset_now_ms()},
            )
        except ServiceUnavailable as exc:
            log.error("could not finalize session %s: %s", self.session_id, exc)
        await self.api.aclose()
        await self.uploads.aclose()
        await self.diarization.aclose()


async def room_entrypoint(ctx: JobContext) -> None:
    settings = AgentSettings()
    job = RoomTranscription(ctx, settings)
    await job.load_session()
    ctx.add_shutdown_callback(job.finish)
    await ctx.connect(auto_subscribe=AutoSubscribe.AUDIO_ONLY)
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


def build_server(settings: AgentSettings) -> AgentServer:
    server = AgentServer(
        ws_url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret,
        host="127.0.0.1",
        port=0,  # the SDK's own status page; ours is AGENT_HTTP_PORT
        num_idle_processes=settings.agent_idle_processes,
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
