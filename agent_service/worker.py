"""The livekit-agents worker: registers under an explicit agent name, so it only joins rooms the
API dispatches it to, and runs one job (process) per room."""

from __future__ import annotations

import logging

from livekit import rtc
from livekit.agents import AgentServer, AutoSubscribe, JobContext

from agent_service.settings import AgentSettings

log = logging.getLogger(__name__)


async def room_entrypoint(ctx: JobContext) -> None:
    await ctx.connect(auto_subscribe=AutoSubscribe.AUDIO_ONLY)
    log.info("joined room %s (dispatch metadata %r)", ctx.room.name, ctx.job.metadata)

    @ctx.room.on("track_subscribed")
    def _on_track(track: rtc.Track, _pub: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant) -> None:
        log.info("audio track %s from %s", track.sid, participant.identity)


def build_server(settings: AgentSettings) -> AgentServer:
    server = AgentServer(
        ws_url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret,
        host="127.0.0.1",
        port=0,  # the SDK's own status page; ours is AGENT_HTTP_PORT
        num_idle_processes=settings.agent_idle_processes,
        drain_timeout=settings.agent_drain_timeout_s,
    )
    server.rtc_session(room_entrypoint, agent_name=settings.agent_name)
    return server
