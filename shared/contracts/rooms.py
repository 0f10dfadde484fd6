"""How people, devices and the agent join a session's LiveKit room: the connection details the
API hands out (to browsers, and to the device bridge for an ESP32), the metadata on the agent's
dispatch, the identity that marks a bridged room microphone, and the agent's presence in Redis
(how a room whose agent died is noticed and given a new one)."""

from __future__ import annotations

from pydantic import BaseModel

from shared.contracts.redaction import RedactionPolicy

# LiveKit identity of a bridged ESP32 microphone ("device-<id>"): a shared microphone, several voices.
DEVICE_IDENTITY_PREFIX = "device-"


class ConnectionDetails(BaseModel):
    """Named as LiveKit's own sample front ends expect them."""

    serverUrl: str
    roomName: str
    participantName: str
    participantIdentity: str
    participantToken: str
    sessionId: str


class AgentJobMetadata(BaseModel):
    """The JSON the API puts on a room's agent dispatch."""

    session_id: str
    # The session's redaction policy when it was dispatched: the agent redacts with it until it
    # has read the session (and when the API cannot be reached).
    redaction: RedactionPolicy | None = None


class AgentBeat(BaseModel):
    """A room job's heartbeat in Redis: kept at ``agent_beat_key`` for a few heartbeat periods
    (gone: the job is dead) and at ``agent_seen_key`` for a day (an agent was here; its clock)."""

    job_id: str
    # The session clock when the beat was sent: a job dispatched again continues from it.
    clock_ms: int


def agent_beat_key(session_id: str) -> str:
    return f"session:{session_id}:agent"


def agent_seen_key(session_id: str) -> str:
    return f"session:{session_id}:agent-seen"
