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
from prometheus_client import Counter, Gauge

from diarization_service import __version__, routes
from diarization_service.engines import create_engine
from diarization_service.engines.base import SpeakerHints
from diarization_service.settings import DiarizationSettings
from shared.limiter import ConcurrencyLimiter
from shared.service import create_service_app
from shared.service_auth import require_service

log = logging.getLogger(__name__)


def _exit_on_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("engine load failed: %s", task.exception())
        os.kill(os.getpid(), signal.SIGTERM)


def create_app(settings: DiarizationSettings | None = None) -> FastAPI:
    settings = settings or DiarizationSettings()
    state: dict[str, Any] = {"loaded": False}

    async def load(app: FastAPI) -> None:
        started = time.perf_counter()
        engine = await asyncio.to_thread(create_engine, settings)
        warm = np.random.default_rng(0).normal(0, 0.05, 16000 * 3).astype(np.float32)
        await asyncio.to_thread(engine.embed, [warm])
        await asyncio.to_thread(engine.diarize, warm, SpeakerHints())
        app.state.engine = engine
        state.update(loaded=True, load_seconds=round(time.perf_counter() - started, 2))
        log.info("engine %s (%s) on %s ready in %.1fs", engine.name, engine.model, engine.device, state["load_seconds"])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.create_task(load(app))
        loading.add_done_callback(_exit_on_failure)
        yield
        loading.cancel()

    def info() -> dict[str, Any]:
        if not state["loaded"]:
            return {"engine": None, "state": "loading"}
        engine = app.state.engine
        return {
            "engine": engine.name,
            "model": engine.model,
            "device": engine.device,
            "embedding_dim": engine.embedding_dim,
            "load_seconds": state["load_seconds"],
            "waiting": app.state.limiter.waiting,
        }

    app = create_service_app(name="diarization", version=__version__, settings=settings, lifespan=lifespan, info=info)
    app.state.limiter = ConcurrencyLimiter(settings.diarization_max_concurrency, settings.diarization_max_queue)
    registry = app.state.metrics.registry
    app.state.audio_seconds = Counter("diarization_audio_seconds_total", "Seconds of audio diarized", registry=registry)
    Gauge("diarization_waiting", "Requests waiting for the engine", registry=registry).set_function(
        lambda: app.state.limiter.waiting
    )

    async def engine_loaded() -> str | None:
        return None if state["loaded"] else "engine loading"

    async def require_engine() -> None:
        if not state["loaded"]:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "engine is loading", headers={"Retry-After": "5"})

    app.state.health.add_check("engine", engine_loaded)
    app.include_router(routes.router, dependencies=[require_service(settings.service_keys), Depends(require_engine)])
    return app
