"""What the agent has heard, kept on disk until the API has it.

Every call the agent makes to the API about a session (finals, recordings, status changes) is an
entry in that job's outbox directory, written before it is sent and deleted once the API accepts
it. One task delivers the entries in order, with backoff, for as long as the API is away. When
the job ends, what is still undelivered stays on disk; the worker's main process sweeps outboxes
whose job is gone (the job holds an exclusive ``flock`` on its directory while it runs) and
delivers them, also after a restart of the agent.

An entry is ``<n>.json`` (``{"kind": "segments" | "status" | "recording", "body": …}``, the body a
``SegmentBatch``, a ``StatusChange`` or the recording's ``{"track", "offset_ms"}``) and, for a
recording, ``<n>.pcm`` beside it (raw 16 kHz mono int16, sent as WAV). The API stores segments
idempotently (by segment id) and recordings by (track, offset), so an entry resent after a lost
answer is stored once."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import shutil
import struct
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from shared.clients import InternalApiClient, ServiceRefused, ServiceUnavailable, file_chunks
from shared.contracts.internal import SegmentBatch, StatusChange

log = logging.getLogger(__name__)

Kind = Literal["segments", "status", "recording"]
MAX_SEGMENTS_PER_CALL = 100
MAX_BACKOFF_S = 10.0
# Answers that mean "this will never be accepted": kept aside for an operator, not retried.
REFUSED = "refused"
# A new outbox's name until its job holds the lock; one this old was left by a job that died in
# between (it holds nothing) and the sweeper removes it.
STAGING_PREFIX = "new-"
STAGING_STALE_S = 60.0


async def wav_stream(path: str | Path, size: int) -> AsyncIterator[bytes]:
    """A 16 kHz mono 16-bit WAV of the raw PCM file at ``path``, in chunks."""
    yield b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    yield b"data" + struct.pack("<I", size)
    async for chunk in file_chunks(str(path)):
        yield chunk


class Outbox:
    """One job's outbox for one session: ``root/<session id>.<job>/``. A new one (no
    ``directory``) is the job's, locked from the start; the sweeper opens existing ones."""

    def __init__(self, root: str | Path, session_id: str, api: InternalApiClient, *, directory: Path | None = None) -> None:
        self.session_id = session_id
        self._api = api
        if directory is None:
            # Made and locked under a name the sweeper does not list, then renamed: otherwise a
            # sweep between mkdir and the job's lock found it free and empty and removed it
            # under the job (8 rooms starting together lost one that way).
            self.dir = Path(root) / f"{session_id}.{uuid.uuid4().hex[:12]}"
            staging = Path(root) / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
            staging.mkdir(parents=True)
            self._lock_file = open(staging / ".lock", "a+")  # noqa: SIM115 - held for the outbox's life
            self.lock()
            staging.rename(self.dir)
        else:
            self.dir = directory
            self._lock_file = open(self.dir / ".lock", "a+")  # noqa: SIM115 - held for the outbox's life
        self._next = max((int(p.stem) for p in self._entries()), default=0) + 1
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def lock(self, blocking: bool = True) -> bool:
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True

    def _entries(self) -> list[Path]:
        return sorted((p for p in self.dir.glob("*.json") if p.stem.isdigit()), key=lambda p: int(p.stem))

    def pending(self) -> int:
        return len(self._entries())

    def put(self, kind: Kind, body: dict[str, Any], recording: str | Path | None = None) -> None:
        """Write an entry (atomically: a reader sees all of it or none) and wake the sender."""
        n = self._next
        self._next += 1
        if recording is not None:
            os.replace(recording, self.dir / f"{n:08d}.pcm")
        tmp = self.dir / f"{n:08d}.tmp"
        tmp.write_text(json.dumps({"kind": kind, "body": body}))
        os.replace(tmp, self.dir / f"{n:08d}.json")
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.session_id}")

    async def drain(self, within_s: float) -> bool:
        """Wait (at most ``within_s``) until everything is delivered; True if it was."""
        if not self._entries():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within_s)
        return not self._entries()

    async def aclose(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._lock_file.close()

    def remove_if_empty(self) -> None:
        """Once nothing is left but the lock (a recording a crashed job never handed over stays)."""
        if all(p.name == ".lock" for p in self.dir.iterdir()):
            shutil.rmtree(self.dir, ignore_errors=True)

    async def _run(self) -> None:
        backoff = 1.0
        while True:
            entries = self._entries()
            if not entries:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                done = await self._deliver(entries)
            except ServiceUnavailable as exc:
                log.warning(
                    "API unavailable; %d outbox entries for %s wait (retry in %.0f s): %s",
                    len(entries),
                    self.session_id,
                    backoff,
                    exc,
                )
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)
                continue
            backoff = 1.0
            for path in done:
                path.unlink(missing_ok=True)
                path.with_suffix(".pcm").unlink(missing_ok=True)

    async def _deliver(self, entries: list[Path]) -> list[Path]:
        """Send the first entry (with the segment entries right after it, in one call); returns
        what the API has now. Raises ServiceUnavailable when it should be tried again."""
        first = json.loads(entries[0].read_text())
        batch = [entries[0]]
        try:
            if first["kind"] == "segments":
                segments = SegmentBatch.model_validate(first["body"]).segments
                for path in entries[1:]:
                    entry = json.loads(path.read_text())
                    if entry["kind"] != "segments" or len(segments) >= MAX_SEGMENTS_PER_CALL:
                        break
                    segments += SegmentBatch.model_validate(entry["body"]).segments
                    batch.append(path)
                await self._api.add_segments(self.session_id, segments)
            elif first["kind"] == "status":
                await self._api.set_status(self.session_id, StatusChange.model_validate(first["body"]))
            else:
                pcm = entries[0].with_suffix(".pcm")
                size = pcm.stat().st_size if pcm.exists() else 0
                track, offset_ms = first["body"]["track"], int(first["body"]["offset_ms"])
                await self._api.add_recording(self.session_id, track, offset_ms, lambda: wav_stream(pcm, size))
        except (ServiceRefused, ValueError) as exc:
            # Refused for good (the session is gone, the data is invalid): kept aside, not lost.
            log.error("API refused %s for %s: %s", first["kind"], self.session_id, exc)
            refused = self.dir.parent / REFUSED / self.dir.name
            refused.mkdir(parents=True, exist_ok=True)
            for path in batch:
                for part in (path, path.with_suffix(".pcm")):
                    if part.exists():
                        shutil.move(part, refused / part.name)
        return batch


def _outbox_dirs(base: Path) -> list[Path]:
    return sorted(p for p in base.glob("*.*") if p.is_dir()) if base.exists() else []


def _remove_stale_staging(base: Path, now: float) -> None:
    for path in base.glob(f"{STAGING_PREFIX}*") if base.exists() else []:
        with contextlib.suppress(FileNotFoundError):
            if now - path.stat().st_mtime > STAGING_STALE_S:
                shutil.rmtree(path, ignore_errors=True)


async def sweep(root: str | Path, api: InternalApiClient, interval_s: float = 15.0) -> None:
    """Forever: deliver the outboxes under ``root`` whose job is gone (their lock is free)."""
    base = Path(root)
    while True:
        await asyncio.to_thread(_remove_stale_staging, base, time.time())
        for directory in await asyncio.to_thread(_outbox_dirs, base):
            session_id = directory.name.rsplit(".", 1)[0]
            outbox = Outbox(base, session_id, api, directory=directory)
            try:
                if not outbox.lock(blocking=False):
                    continue  # its job is still running
                if outbox.pending():
                    log.info("delivering %d outbox entries left by a finished job of %s", outbox.pending(), session_id)
                    outbox.start()
                    await outbox.drain(within_s=interval_s * 4)
                outbox.remove_if_empty()
            finally:
                await outbox.aclose()
        await asyncio.sleep(interval_s)
