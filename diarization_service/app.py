from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import torch
from fastapi import Depends, FastAPI
from prometheus_client import Counter, Gauge

from diarization_service import __version__, routes
from diarization_service.engines import create_engine
from diarization_service.engines.base import ArrayAudio, SpeakerHints
from diarization_service.settings import DiarizationSettings
from shared.limiter import ConcurrencyLimiter
from shared.model_loading import BackgroundLoad
from shared.model_thread import ModelThread
from shared.service import create_service_app
from shared.service_auth import require_service

log = logging.getLogger(__name__)


def create_app(settings: DiarizationSettings | None = None) -> FastAPI:
    settings = settings or DiarizationSettings()

    # Whole recordings (and the loading) on threads of their own; /embed's few seconds of audio
    # beside them on one thread that uses a single core, which starts no OpenMP team at all (a
    # second two-thread team was slower again; shared/model_thread.py).
    recordings = ModelThread("diarize", settings.diarization_max_concurrency)
    clips = ModelThread("embed", initializer=functools.partial(torch.set_num_threads, 1))

    async def load() -> None:
        engine = await recordings.run(create_engine, settings)
        warm = np.random.default_rng(0).normal(0, 0.05, 16000 * 3).astype(np.float32)
        await clips.run(engine.embed, [warm])
        await recordings.run(engine.diarize, ArrayAudio(warm), SpeakerHints())
        app.state.engine = engine
        log.info("engine %s (%s) on %s ready", engine.name, engine.model, engine.device)

    loader = BackgroundLoad("engine", load)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with loader.running():
            yield
        recordings.shutdown()
        clips.shutdown()

    def info() -> dict[str, Any]:
        if not loader.loaded:
            return {"engine": None, "state": "loading"}
        engine = app.state.engine
        return {
            "engine": engine.name,
            "model": engine.model,
            "device": engine.device,
            "embedding_dim": engine.embedding_dim,
            "load_seconds": loader.load_seconds,
            "waiting": app.state.limiter.waiting,
        }

    app = create_service_app(name="diarization", version=__version__, settings=settings, lifespan=lifespan, info=info)
    app.state.recordings, app.state.clips = recordings, clips
    app.state.limiter = ConcurrencyLimiter(settings.diarization_max_concurrency, settings.diarization_max_queue)
    # /embed serves live captions (a few seconds of audio each): it must not queue behind
    # whole-recording diarization, so it has a limiter of its own.
    app.state.embed_limiter = ConcurrencyLimiter(1, 4 * settings.diarization_max_queue)
    registry = app.state.metrics.registry
    app.state.audio_seconds = Counter("diarization_audio_seconds_total", "Seconds of audio diarized", registry=registry)
    Gauge("diarization_waiting", "Requests waiting for the engine", registry=registry).set_function(
        lambda: app.state.limiter.waiting
    )

    app.state.health.add_check("engine", loader.ready)
    app.include_router(routes.router, dependencies=[require_service(settings.service_keys), Depends(loader.require)])
    return app
