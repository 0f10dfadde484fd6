"""Audio storage on the local filesystem: uploads are streamed in chunks (never whole in
memory) and refused as soon as they pass the size limit."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import BinaryIO

import anyio
from starlette.requests import Request

from shared.audio import AudioTooLarge

CHUNK = 1 << 20


class StreamReader:
    """A request body read chunk by chunk as it arrives."""

    def __init__(self, request: Request) -> None:
        self._chunks = request.stream()

    async def aread(self) -> bytes:
        async for chunk in self._chunks:
            if chunk:
                return chunk
        return b""


class LocalStorage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"storage key escapes the storage root: {key}")
        return path

    async def save(self, source: BinaryIO | StreamReader, session_id: str, suffix: str, limit: int) -> tuple[str, int]:
        """Copy ``source`` (a file, or a request body being received) to a new key under the
        session; returns (key, bytes)."""
        key = f"{session_id}/{uuid.uuid4().hex}{suffix}"
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        try:
            async with await anyio.open_file(target, "wb") as out:
                while chunk := await (
                    source.aread() if isinstance(source, StreamReader) else anyio.to_thread.run_sync(source.read, CHUNK)
                ):
                    written += len(chunk)
                    if written > limit:
                        raise AudioTooLarge(f"upload is larger than the limit of {limit} bytes")
                    await out.write(chunk)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return key, written

    def delete_session(self, session_id: str) -> None:
        folder = self.path(session_id)
        if folder.exists():
            for child in folder.iterdir():
                child.unlink(missing_ok=True)
            os.rmdir(folder)
