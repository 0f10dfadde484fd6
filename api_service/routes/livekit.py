from __future__ import annotations

import logging
import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from api_service.auth import User, current_user
from api_service.livekit_access import participant_token, room_name_for

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/livekit", tags=["livekit"])


class ConnectionRequest(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=16)
    # Join an existing session's room (an invite link) instead of starting a new one.
    session_id: uuid.UUID | None = None
    participant_name: str | None = Field(default=None, max_length=100)


class ConnectionDetails(BaseModel):
    serverUrl: str
    roomName: str
    participantName: str
    participantToken: str
    sessionId: str


@router.post("/connection-details", response_model=ConnectionDetails)
async def connection_details(body: ConnectionRequest, request: Request, user: User = Depends(current_user)) -> ConnectionDetails:
    settings = request.app.state.settings
    session_id = str(body.session_id or uuid.uuid4())
    room = room_name_for(session_id)
    name = body.participant_name or user.email or f"user-{user.id[:8]}"
    try:
        await request.app.state.dispatcher.ensure_dispatched(room, session_id, new_room=body.session_id is None)
    except Exception as exc:
        log.error("agent dispatch to %s failed: %s", room, exc)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "LiveKit server unavailable", headers={"Retry-After": "5"}
        ) from exc
    token = participant_token(settings, room=room, identity=f"user-{user.id}", name=name, metadata={"session_id": session_id})
    return ConnectionDetails(
        serverUrl=settings.livekit_public_url or settings.livekit_url,
        roomName=room,
        participantName=name,
        participantToken=token,
        sessionId=session_id,
    )
