from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI

from shared.model_loading import BackgroundLoad
from shared.service import create_service_app
from shared.service_auth import require_service
from stt_service import __version__, routes, streaming
from stt_service.engines import create_engine
from stt_service.engines.base import Clip
from stt_service.scheduler import Priority, Scheduler, SchedulerMetrics
from stt_service.settings import STTSettings
from stt_service.transcriber import Transcriber

log = logging.getLogger(__name__)


def create_app(settings: STTSettings | None = None) -> FastAPI:
    settings = settings or STTSettings()

    async def load() -> None:
        engine = await asyncio.to_thread(create_engine, settings)
        scheduler = Scheduler(
            engine,
            SchedulerMetrics(app.state.metrics.registry),
            max_batch=settings.stt_max_batch_size,
            wait_ms=settings.stt_batch_wait_ms,
            max_queue=settings.stt_max_queue,
        )
        scheduler.start()
        # Warm up: the first inference pays for allocations and kernel selection.
        noise = np.random.default_rng(0).normal(0, 0.01, 16000).astype(np.float32)
        await scheduler.transcribe([Clip(noise, language=engine.languages[0])], Priority.file)
        app.state.engine = engine
        app.state.scheduler = scheduler
        app.state.transcriber = Transcriber(scheduler)
        log.info("engine %s model %s on %s ready (%d languages)", engine.name, engine.model, engine.device, len(engine.languages))

    loader = BackgroundLoad("model", load)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with loader.running():
            yield
        if loader.loaded:
            await app.state.scheduler.aclose()

    def info() -> dict[str, Any]:
        if not loader.loaded:
            return {"engine": None, "state": "loading"}
        engine = app.state.engine
        return {
            "engine": engine.name,
            "model": engine.model,
            "device": engine.device,
            "languages": engine.languages,
            # How a request's custom vocabulary is applied ("hotwords"), or null where the model has no way.
            "vocabulary": getattr(engine, "vocabulary", None),
            "max_batch_size": engine.max_batch_size,
            "load_seconds": loader.load_seconds,
            "queue_depth": app.state.scheduler.depth,
        }

    app = create_service_app(name="stt", version=__version__, settings=settings, lifespan=lifespan, info=info)
    app.state.health.add_check("engine", loader.ready)
    app.include_router(routes.router, dependencies=[require_service(settings.service_keys), Depends(loader.require)])
    app.include_router(streaming.router)
    return app
