"""Bounded concurrency for model inference: at most ``max_running`` at once and ``max_waiting``
queued; beyond that the caller gets Overloaded (HTTP 503 with Retry-After)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Overloaded(RuntimeError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"busy; retry in {retry_after}s")
        self.retry_after = retry_after


class ConcurrencyLimiter:
    def __init__(self, max_running: int, max_waiting: int) -> None:
        self._semaphore = asyncio.Semaphore(max_running)
        self._max_running = max_running
        self._max_waiting = max_waiting
        self._waiting = 0
        self.recent_seconds = 5.0  # moving average of one job's duration, for Retry-After

    @property
    def waiting(self) -> int:
        return self._waiting

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._semaphore.locked() and self._waiting >= self._max_waiting:
            raise Overloaded(max(1, round(self.recent_seconds * (self._waiting + 1) / self._max_running)))
        self._waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self._waiting -= 1
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            yield
        finally:
            self._semaphore.release()
            self.recent_seconds = 0.8 * self.recent_seconds + 0.2 * (loop.time() - started)
