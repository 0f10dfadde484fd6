"""Model services load their engine in the background after start-up: liveness answers during a
long load, while readiness and the model routes answer 503 until it is done. A failed load stops
the process, so an orchestrator restarts it instead of leaving it idle and unready."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import HTTPException, status

log = logging.getLogger(__name__)


class BackgroundLoad:
    def __init__(self, what: str, load: Callable[[], Awaitable[None]]) -> None:
        self._what = what
        self._load = load
        self.loaded = False
        self.load_seconds: float | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._run())
        task.add_done_callback(self._stop_on_failure)
        try:
            yield
        finally:
            task.cancel()

    async def _run(self) -> None:
        started = time.perf_counter()
        await self._load()
        self.load_seconds = round(time.perf_counter() - started, 2)
        self.loaded = True

    def _stop_on_failure(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed to load: %s", self._what, task.exception())
            os.kill(os.getpid(), signal.SIGTERM)

    async def ready(self) -> str | None:
        """Readiness check."""
        return None if self.loaded else f"{self._what} loading"

    async def require(self) -> None:
        """Route dependency."""
        if not self.loaded:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"{self._what} is loading", headers={"Retry-After": "5"})
