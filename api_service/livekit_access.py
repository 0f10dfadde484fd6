"""LiveKit access for sessions: participant tokens with minimal grants, and server-side dispatch
of the transcription agent (users' tokens never carry agent dispatch)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from datetime import timedelta

from livekit import api

from api_service.settings import APISettings
from shared.contracts.redaction import RedactionPolicy
from shared.contracts.rooms import AgentJobMetadata

log = logging.getLogger(__name__)


def participant_token(
    settings: APISettings, *, room: str, identity: str, name: str, metadata: dict[str, str] | None = None
) -> str:
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_subscribe=True,
        # Data for the meeting's chat (lk.chat). Captions are believed only from the agent (the web
        # app checks the sender is one), and transcripts are stored by the agent through the API.
        can_publish_data=True,
        can_update_own_metadata=False,
    )
    return (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_metadata(json.dumps(metadata or {}))
        .with_grants(grants)
        .with_ttl(timedelta(seconds=settings.livekit_token_ttl_s))
        .to_jwt()
    )


class LiveKitUnavailable(Exception):
    """A server call to LiveKit failed (unreachable, or an error other than "not found"); the API
    answers 503 with a sentence and Retry-After."""


def participant_identity(user_id: str) -> str:
    """A user's identity in a meeting's room (the name people see is separate)."""
    return f"user-{user_id}"


def identity_user(identity: str) -> str | None:
    """The user id of a person's identity in a room (``participant_identity``'s inverse); None for
    an agent's, a device's or any other."""
    return identity.removeprefix("user-") if identity.startswith("user-") and len(identity) > 5 else None


class AgentDispatcher:
    """Makes sure exactly one transcription agent is dispatched to a session's room, and removes
    participants from it (the server-side LiveKit calls of a meeting)."""

    def __init__(self, settings: APISettings) -> None:
        self._settings = settings
        self._api: api.LiveKitAPI | None = None

    def _client(self) -> api.LiveKitAPI:
        # Created lazily: LiveKitAPI needs a running event loop.
        if self._api is None:
            self._api = api.LiveKitAPI(
                self._settings.livekit_url, self._settings.livekit_api_key, self._settings.livekit_api_secret
            )
        return self._api

    async def ensure_dispatched(
        self, room: str, session_id: str, *, new_room: bool, redaction: RedactionPolicy | None = None
    ) -> None:
        try:
            await self._ensure_dispatched(room, session_id, new_room=new_room, redaction=redaction)
        except Exception as exc:
            log.error("agent dispatch to %s failed: %s", room, exc)
            raise LiveKitUnavailable from exc

    async def _ensure_dispatched(self, room: str, session_id: str, *, new_room: bool, redaction: RedactionPolicy | None) -> None:
        if not new_room:
            try:
                existing = await self._client().agent_dispatch.list_dispatch(room_name=room)
            except api.TwirpError:
                existing = []  # the room has closed: dispatching opens it again
            if any(d.agent_name == self._settings.agent_name for d in existing):
                return
        await self.dispatch(room, session_id, redaction)

    async def dispatch(self, room: str, session_id: str, redaction: RedactionPolicy | None = None) -> None:
        """A new dispatch of the agent to ``room`` (LiveKit gives it to the least loaded worker).
        The session's redaction policy goes with it, so the agent redacts even when it cannot
        reach the API to read the session."""
        await self._client().agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name=self._settings.agent_name,
                room=room,
                metadata=AgentJobMetadata(session_id=session_id, redaction=redaction).model_dump_json(),
            )
        )
        log.info("dispatched agent %s to room %s", self._settings.agent_name, room)

    async def _found(self, call: Awaitable[object], what: str) -> bool:
        """Runs a RoomService ``call``: False when LiveKit says what it names is not there;
        LiveKitUnavailable when LiveKit fails otherwise."""
        try:
            await call
        except api.TwirpError as exc:
            if exc.code == "not_found":
                return False
            raise LiveKitUnavailable from exc
        except Exception as exc:
            log.error("%s failed: %s", what, exc)
            raise LiveKitUnavailable from exc
        return True

    async def remove_participant(self, room: str, identity: str) -> bool:
        """Disconnect ``identity`` from ``room``; False when it is not there."""
        request = api.RoomParticipantIdentity(room=room, identity=identity)
        return await self._found(self._client().room.remove_participant(request), f"removing {identity} from {room}")

    async def in_room(self, room: str, identity: str) -> bool:
        """Whether ``identity`` is connected to ``room`` now."""
        request = api.RoomParticipantIdentity(room=room, identity=identity)
        return await self._found(self._client().room.get_participant(request), f"looking up {identity} in {room}")

    async def close_room(self, room: str) -> None:
        """Close ``room`` for everyone in it (LiveKit's DeleteRoom); a room already gone is fine."""
        await self._found(self._client().room.delete_room(api.DeleteRoomRequest(room=room)), f"closing {room}")

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()
