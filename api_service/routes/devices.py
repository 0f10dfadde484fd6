"""ESP32 meeting-room microphones: register (a random token, shown once, stored hashed), list
with online state, revoke; and the device's own route to join its room's current session."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import Device, MeetingSession
from api_service.deps import CurrentUserDep, DbDep, DispatcherDep, SettingsDep, not_found
from api_service.livekit_access import participant_token
from api_service.schemas.devices import DeviceCreated, DeviceIn, DeviceOut
from shared.contracts.rooms import DEVICE_IDENTITY_PREFIX, ConnectionDetails

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])
ONLINE_WINDOW = timedelta(seconds=90)
TOKEN_PREFIX = "isd_"  # noqa: S105 - a prefix that makes leaked device tokens recognisable


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def out(device: Device) -> DeviceOut:
    seen = device.last_seen_at.replace(tzinfo=device.last_seen_at.tzinfo or UTC) if device.last_seen_at else None
    return DeviceOut.model_validate(device).model_copy(
        update={
            "online": bool(seen and device.revoked_at is None and datetime.now(UTC) - seen < ONLINE_WINDOW),
            "revoked": device.revoked_at is not None,
        }
    )


@router.post("/", response_model=DeviceCreated, status_code=status.HTTP_201_CREATED)
async def register(body: DeviceIn, user: CurrentUserDep, session: DbDep) -> DeviceCreated:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    device = Device(user_id=user.id, name=body.name, token_hash=token_hash(token))
    session.add(device)
    await session.commit()
    return DeviceCreated.model_validate({**out(device).model_dump(), "token": token})


@router.get("/", response_model=list[DeviceOut])
async def list_devices(user: CurrentUserDep, session: DbDep) -> list[DeviceOut]:
    rows = (await session.execute(select(Device).where(Device.user_id == user.id).order_by(Device.created_at))).scalars()
    return [out(d) for d in rows]


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke(device_id: str, user: CurrentUserDep, session: DbDep) -> Response:
    device = await session.get(Device, device_id)
    if device is None or device.user_id != user.id:
        raise not_found("device")
    device.revoked_at = device.revoked_at or datetime.now(UTC)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def device_from_token(session: AsyncSession, token: str | None) -> Device:
    if not token or not token.startswith(TOKEN_PREFIX):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or malformed device token")
    device = (await session.execute(select(Device).where(Device.token_hash == token_hash(token)))).scalar_one_or_none()
    if device is None or device.revoked_at is not None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked device token")
    return device


DeviceToken = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]


@router.post("/heartbeat", status_code=status.HTTP_204_NO_CONTENT)
async def device_heartbeat(session: DbDep, credentials: DeviceToken) -> Response:
    """A streaming device is alive (the bridge relays its heartbeats): it shows as online."""
    device = await device_from_token(session, credentials.credentials if credentials else None)
    device.last_seen_at = datetime.now(UTC)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/connection-details", response_model=ConnectionDetails)
async def device_connection_details(
    session: DbDep,
    credentials: DeviceToken,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
) -> ConnectionDetails:
    """For devices that join the room themselves (LiveKit's ESP32 SDK): the device token in
    `Authorization: Bearer`, answered with the fields the SDK's token component reads."""
    device = await device_from_token(session, credentials.credentials if credentials else None)
    current = await session.get(MeetingSession, device.current_session_id) if device.current_session_id else None
    if current is None or current.status not in ("created", "live"):
        current = MeetingSession(
            user_id=device.user_id, title=f"{device.name} — {datetime.now(UTC):%Y-%m-%d %H:%M}", source="device"
        )
        session.add(current)
        await session.flush()
        device.current_session_id = current.id
        new_room = True
    else:
        new_room = False
    device.last_seen_at = datetime.now(UTC)
    await session.commit()
    await dispatcher.ensure_dispatched(current.room_name, current.id, new_room=new_room)  # no LiveKit: 503
    token = participant_token(
        settings,
        room=current.room_name,
        identity=f"{DEVICE_IDENTITY_PREFIX}{device.id}",
        name=device.name,
        metadata={"session_id": current.id, "device_id": device.id},
    )
    return ConnectionDetails(
        serverUrl=settings.livekit_public_url or settings.livekit_url,
        roomName=current.room_name,
        participantName=device.name,
        participantIdentity=f"{DEVICE_IDENTITY_PREFIX}{device.id}",
        participantToken=token,
        sessionId=current.id,
    )
