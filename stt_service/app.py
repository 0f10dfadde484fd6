from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, HTTPException, status

from shared.service import create_service_app
from shared.service_auth import require_service
from stt_service import __version__, routes, streaming
from stt_service.engines import create_engine
from stt_service.engines.base import Clip
from stt_service.scheduler import Scheduler, SchedulerMetrics
from stt_service.settings import STTSettings
from stt_service.transcriber import Transcriber

log = logging.getLogger(__name__)


def _exit_on_failure(task: asyncio.Task[None]) -> None:
    """A service that cannot load its model should stop (and be restarted), not idle unready."""
    if not task.cancelled() and task.exception() is not None:
        log.error("model load failed: %s", task.exception())
        os.kill(os.getpid(), signal.SIGTERM)


def create_app(settings: STTSettings | None = None) -> FastAPI:
    settings = settings or STTSettings()
    state: dict[str, Any] = {"loaded": False}

    async def load(app: FastAPI) -> None:
        started = time.perf_counter()
        engine = await asyncio.to_thread(create_engine, settings)
        # Warm up: the first inference pays for allocations and kernel selection.
        noise = np.random.default_rng(0).normal(0, 0.01, 16000).astype(np.float32)
        await asyncio.to_thread(engine.transcribe_clips, [Clip(noise, language=engine.languages[0])])
        app.state.engine = engine
        app.state.scheduler = Scheduler(
            engine,
            SchedulerMetrics(app.state.metrics.registry),
            max_batch=settings.stt_max_batch_size,
            wait_ms=settings.stt_batch_wait_ms,
            max_queue=settings.stt_max_queue,
        )
        app.state.scheduler.start()
        app.state.transcriber = Transcriber(app.state.scheduler)
        state.update(loaded=True, load_seconds=round(time.perf_counter() - started, 2))
        log.info(
            "engine %s model %s on %s ready in %.1fs (%d languages)",
            engine.name,
            engine.model,
            engine.device,
            state["load_seconds"],
            len(engine.languages),
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Load in the background: liveness answers during a long model load, readiness does not.
        loading = asyncio.create_task(load(app))
        loading.add_done_callback(_exit_on_failure)
        yield
        loading.cancel()
        if state["loaded"]:
            await app.state.scheduler.aclose()

    def info() -> dict[str, Any]:
        if not state["loaded"]:
            return {"engine": None, "state": "loading"}
        engine = app.state.engine
        return {
            "engine": engine.name,
            "model": engine.model,
            "device": engine.device,
            "languages": engine.languages,
            "max_batch_size": engine.max_batch_size,
            "load_seconds": state["load_seconds"],
            "queue_depth": app.state.scheduler.depth,
        }

    app = create_service_app(name="stt", version=__version__, settings=settings, lifespan=lifespan, info=info)

    async def engine_loaded() -> str | None:
        return None if state["loaded"] else "model loading"

    async def require_engine() -> None:
        if not state["loaded"]:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "model is loading", headers={"Retry-After": "5"})

    app.state.health.add_check("engine", engine_loaded)
    app.include_router(routes.router, dependencies=[require_service(settings.service_keys), Depends(require_engine)])
    app.include_router(streaming.router)
    return app
