"""Live session data in Redis Streams: one stream per session carries its final segments and
status changes, for readers outside the LiveKit room (REST polling and server-sent events)."""

from __future__ import annotations

import json
from typing import Any, cast

from redis.asyncio import Redis

MAX_EVENTS = 20_000  # per session stream (approximate trim)


def stream_key(session_id: str) -> str:
    return f"session:{session_id}:events"


async def publish(redis: Redis, session_id: str, kind: str, data: dict[str, Any]) -> str:
    entry_id = await redis.xadd(
        stream_key(session_id), {"type": kind, "data": json.dumps(data, ensure_ascii=False)}, maxlen=MAX_EVENTS, approximate=True
    )
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def _decode(entry_id: bytes | str, fields: dict[bytes, bytes]) -> dict[str, Any]:
    return {
        "id": entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        "type": fields[b"type"].decode(),
        "data": json.loads(fields[b"data"]),
    }


async def read(redis: Redis, session_id: str, after: str = "-", count: int = 1000) -> list[dict[str, Any]]:
    start = "-" if after in ("", "-", "0") else f"({after}"
    entries = cast(
        list[tuple[bytes, dict[bytes, bytes]]], await redis.xrange(stream_key(session_id), min=start, max="+", count=count)
    )
    return [_decode(i, f) for i, f in entries]


async def wait(redis: Redis, session_id: str, after: str, block_ms: int) -> list[dict[str, Any]]:
    result = cast(
        list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
        await redis.xread({stream_key(session_id): after or "0"}, block=block_ms, count=100),
    )
    return [_decode(i, f) for _key, entries in result for i, f in entries]


async def drop(redis: Redis, session_id: str) -> None:
    await redis.delete(stream_key(session_id))
