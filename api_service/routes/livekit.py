from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from sqlalchemy.exc import IntegrityError

from api_service import lifecycle
from api_service.db.models import MeetingSession, SessionStatus, new_invite_code
from api_service.deps import (
    CurrentUserDep,
    DbDep,
    DispatcherDep,
    RedisDep,
    SettingsDep,
    owned_session,
    session_vocabulary,
)
from api_service.domain import participants, redaction
from api_service.domain.sessions import session_detail
from api_service.domain.status import change_status
from api_service.livekit_access import participant_identity, participant_token
from api_service.schemas.livekit import ConnectionRequest, InviteCode
from api_service.schemas.sessions import SessionDetail
from shared.contracts.rooms import ConnectionDetails
from shared.errors import Refused

router = APIRouter(prefix="/api/v1/livekit", tags=["livekit"])
# Control of a session's meeting by its owner.
meeting = APIRouter(prefix="/api/v1/sessions", tags=["livekit"])


@router.post("/connection-details", response_model=ConnectionDetails)
async def connection_details(
    body: ConnectionRequest,
    user: CurrentUserDep,
    session: DbDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
) -> ConnectionDetails:
    if body.session_id:
        row = await session.get(MeetingSession, body.session_id)
        invited = (
            row is not None
            and body.invite_code is not None
            # As bytes: compare_digest refuses non-ASCII str (a 500 for any such code).
            and hmac.compare_digest(row.invite_code.encode(), body.invite_code.encode())
        )
        if row is None or (row.user_id != user.id and not invited):
            # A guest's link whose code was replaced, or a meeting that is gone.
            raise Refused(status.HTTP_404_NOT_FOUND, "meeting_not_found", "session not found")
        if row.status in ("completed", "failed"):
            raise Refused(status.HTTP_409_CONFLICT, "meeting_ended", f"the session is {row.status}", {"status": row.status})
    else:
        row = MeetingSession(
            user_id=user.id,
            title=body.title or "Live meeting",
            language=body.language,
            template_id=body.template_id,
            vocabulary=await session_vocabulary(session, body.vocabulary, body.template_id, user.id),
            redaction=await redaction.new_session_policy(session, body.redaction, user.id),
            source="live",
        )
        session.add(row)
        await session.commit()
    await dispatcher.ensure_dispatched(
        row.room_name, row.id, new_room=body.session_id is None, redaction=redaction.stored_policy(row.redaction)
    )
    name = body.participant_name or user.email or f"user-{user.id[:8]}"
    if row.user_id != user.id:  # through the invite: a participant, who may read it later if the owner shares it
        await participants.record_join(session, row, user.id, name)
        try:
            await session.commit()
        except IntegrityError:  # the same person joining from two tabs at once: the other recorded it
            await session.rollback()
    identity = participant_identity(user.id)
    token = participant_token(settings, room=row.room_name, identity=identity, name=name, metadata={"session_id": row.id})
    return ConnectionDetails(
        serverUrl=settings.livekit_public_url or settings.livekit_url,
        roomName=row.room_name,
        participantName=name,
        participantIdentity=identity,
        participantToken=token,
        sessionId=row.id,
    )


@meeting.post("/{session_id}/invite-code", response_model=InviteCode)
async def rotate_invite_code(session_id: str, user: CurrentUserDep, session: DbDep) -> InviteCode:
    """A new invite code (owner only); the old one no longer lets anyone join."""
    row = await owned_session(session, session_id, user.id)
    row.invite_code = new_invite_code()
    await session.commit()
    return InviteCode(invite_code=row.invite_code)


@meeting.delete("/{session_id}/participants/{identity}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_participant(
    session_id: str,
    identity: Annotated[str, Path(max_length=200)],
    user: CurrentUserDep,
    session: DbDep,
    dispatcher: DispatcherDep,
) -> None:
    """Remove someone from the meeting (owner only): disconnected from the live room, and no longer
    a participant who may read the session when it is shared (for good: joining again through
    the invite does not give that back). Rotate the invite code too, or they can ask for a new
    token and come back into the room; the token they hold lasts until LIVEKIT_TOKEN_TTL_S.
    404 when they are neither in the room nor someone who joined through the invite."""
    row = await owned_session(session, session_id, user.id)
    recorded = await participants.mark_removed(session, row.id, identity)
    await session.commit()  # also gives the connection back while LiveKit answers
    live = row.status in (SessionStatus.created, SessionStatus.live)
    in_room = live and await dispatcher.remove_participant(row.room_name, identity)
    if not in_room and not recorded:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{identity} is not in this meeting.")


@meeting.post("/{session_id}/end", response_model=SessionDetail)
async def end_meeting(
    session_id: str, user: CurrentUserDep, session: DbDep, settings: SettingsDep, redis: RedisDep, dispatcher: DispatcherDep
) -> SessionDetail:
    """End a live meeting for everyone (its owner only): the LiveKit room closes, so every
    participant is disconnected and the agent finalises (its last finals and recordings still
    arrive and are stored); the session is completed at once, and post-meeting processing starts
    MEETING_END_GRACE_S later."""
    row = await owned_session(session, session_id, user.id)
    if row.source == "upload":
        raise HTTPException(status.HTTP_409_CONFLICT, "An uploaded recording has no meeting to end.")
    if row.status not in (SessionStatus.created, SessionStatus.live):
        raise Refused(
            status.HTTP_409_CONFLICT,
            "meeting_ended",
            f"The meeting has already ended (the session is {row.status}).",
            {"status": row.status},
        )
    await dispatcher.close_room(row.room_name)
    if row.status == SessionStatus.created:  # people were in the room, nobody had spoken yet
        change_status(row, SessionStatus.live)
    change_status(row, SessionStatus.completed)
    await session.commit()
    await lifecycle.completed(session, row, redis, delay_s=settings.meeting_end_grace_s)
    return await session_detail(session, row)
