"""How people, devices and the agent join a session's LiveKit room: the connection details the
API hands out (to browsers, and to the device bridge for an ESP32), the metadata on the agent's
dispatch, and the identity that marks a bridged room microphone."""

from __future__ import annotations

from pydantic import BaseModel

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
