"""A track's recording: every frame read from it (silence included), as raw 16 kHz int16 mono
in a file, so playback and later re-diarization line up with the live timestamps. The finished
file is handed on (to the outbox, which uploads it), or deleted when nobody wants it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Awaitable, Callable

from livekit import rtc

# Called with (path of the raw 16 kHz int16 recording, where it starts on the session clock).
RecordingSink = Callable[[str, int], Awaitable[None]]


class Recorder:
    def __init__(self, directory: str | None = None) -> None:
        self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - handed on
            prefix="rec-", suffix=".part", dir=directory, delete=False
        )
        self.path = self._file.name
        self.bytes = 0

    def write(self, frame: rtc.AudioFrame) -> None:
        data = frame.data.cast("B")
        self._file.write(data)
        self.bytes += len(data)

    def close(self) -> None:
        """Idempotent."""
        self._file.close()

    async def hand_off(self, sink: RecordingSink | None, offset_ms: int) -> None:
        """The closed recording goes to ``sink`` with its start on the session clock, or away."""
        self.close()
        if sink is not None:
            await sink(self.path, offset_ms)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
