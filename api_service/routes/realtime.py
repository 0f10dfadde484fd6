"""Live transcript for clients outside the LiveKit room: a snapshot, the status, and a
server-sent-events feed (resumable with Last-Event-ID)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from api_service import realtime
from api_service.deps import CurrentUserDep, DbDep, RedisDep, StreamDbDep, owned_session

router = APIRouter(prefix="/api/v1/realtime/sessions", tags=["realtime"])


@router.get("/{session_id}/transcription")
async def transcription(
    session_id: str,
    user: CurrentUserDep,
    session: DbDep,
    redis: RedisDep,
    after: Annotated[str, Query(pattern=r"^(-|\d{1,19}-\d{1,19})$", description="stream id to continue after")] = "-",
) -> dict[str, object]:
    await owned_session(session, session_id, user.id)
    events = await realtime.read(redis, session_id, after)
    segments = [e["data"] | {"event_id": e["id"]} for e in events if e["type"] == "segment"]
    return {"session_id": session_id, "segments": segments, "last_event_id": events[-1]["id"] if events else after}


@router.get("/{session_id}/status")
async def live_status(session_id: str, user: CurrentUserDep, session: DbDep, redis: RedisDep) -> dict[str, object]:
    row = await owned_session(session, session_id, user.id)
    info = (
        await redis.xinfo_stream(realtime.stream_key(session_id)) if await redis.exists(realtime.stream_key(session_id)) else None
    )
    return {
        "session_id": session_id,
        "status": row.status,
        "duration_ms": row.duration_ms,
        "live_events": int(info["length"]) if info else 0,
        "last_event_id": (
            info["last-generated-id"].decode() if isinstance(info["last-generated-id"], bytes) else info["last-generated-id"]
        )
        if info
        else None,
    }


@router.get("/{session_id}/events")
async def events(
    session_id: str,
    request: Request,
    user: CurrentUserDep,
    session: StreamDbDep,
    redis: RedisDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", pattern=r"^\d{1,19}-\d{1,19}$")] = None,
) -> StreamingResponse:
    await owned_session(session, session_id, user.id)

    async def feed() -> AsyncIterator[str]:
        cursor = last_event_id or "0"
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            batch = await realtime.wait(redis, session_id, cursor, block_ms=10_000)
            if not batch:
                yield ": keep-alive\n\n"
                continue
            for event in batch:
                cursor = event["id"]
                yield f"id: {event['id']}\nevent: {event['type']}\ndata: {json.dumps(event['data'], ensure_ascii=False)}\n\n"

    return StreamingResponse(
        feed(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
