"""The livekit-agents worker: registers under an explicit agent name (so it only joins rooms the
API dispatches it to) and runs one job per room. A job transcribes every participant's audio
track, each with its own pipeline, started and stopped as tracks come and go."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from livekit import rtc
from livekit.agents import AgentServer, AutoSubscribe, JobContext

from agent_service.settings import AgentSettings
from agent_service.track_transcriber import Speaker, TrackTranscriber
from shared.clients import ServiceClient, ServiceUnavailable
from shared.service_auth import service_header

log = logging.getLogger(__name__)


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

    async def announce_delay(self, delayed: bool) -> None:
        await self.ctx.room.local_participant.set_attributes({"intrascribe.captions_delayed": "true" if delayed else "false"})

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
        )
        task = asyncio.create_task(transcriber.run(), name=f"transcribe-{participant.identity}")
        self.tasks[track.sid] = (transcriber, task)
        sid = track.sid
        task.add_done_callback(lambda _task: self.tasks.pop(sid, None))
        log.info("transcribing %s (track %s)", participant.identity, track.sid)

    async def stop_track(self, sid: str) -> None:
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
    )
    server.rtc_session(room_entrypoint, agent_name=settings.agent_name)
    return server
