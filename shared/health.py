"""Health endpoints every service exposes.

- ``/health``: the process answers (the seed's check; always 200 while it runs).
- ``/health/live``: liveness for orchestrators (always 200 while the event loop runs).
- ``/health/ready``: 200 only when every registered check passes (model loaded, Redis reachable,
  ...); 503 with the failing checks otherwise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

# A check returns None (or True) when healthy; it raises or returns a string/False when not.
ReadinessCheck = Callable[[], Awaitable[object]]


class Health:
    def __init__(self, service: str, version: str, check_timeout: float = 2.0) -> None:
        self.service = service
        self.version = version
        self.check_timeout = check_timeout
        self.started_at = time.time()
        self._checks: dict[str, ReadinessCheck] = {}

    def add_check(self, name: str, check: ReadinessCheck) -> None:
        self._checks[name] = check

    async def _run(self, check: ReadinessCheck) -> tuple[bool, str]:
        try:
            result = await asyncio.wait_for(check(), self.check_timeout)
        except TimeoutError:
            return False, f"timed out after {self.check_timeout}s"
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        if result is None or result is True:
            return True, "ok"
        return False, str(result) if result is not False else "failed"

    async def readiness(self) -> tuple[bool, dict[str, str]]:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(self._checks[n]) for n in names))
        detail = {name: msg for name, (_, msg) in zip(names, results, strict=True)}
        return all(ok for ok, _ in results), detail

    def router(self) -> APIRouter:
        router = APIRouter(tags=["health"])

        @router.get("/health")
        async def health() -> dict[str, object]:
            return {
                "status": "ok",
                "service": self.service,
                "version": self.version,
                "uptime_s": round(time.time() - self.started_at, 1),
            }

        @router.get("/health/live")
        async def live() -> dict[str, str]:
            return {"status": "alive"}

        @router.get("/health/ready")
        async def ready() -> JSONResponse:
            ok, checks = await self.readiness()
            return JSONResponse({"ready": ok, "service": self.service, "checks": checks}, status_code=200 if ok else 503)

        return router
