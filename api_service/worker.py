"""The batch worker process: ``python -m api_service.worker``. Runs dramatiq worker threads for
the batch queue (and its own for webhook deliveries), sweeps sessions left live with no meeting
going on, dispatches the agent again to rooms whose agent died, and serves /health,
/health/ready (Redis and audio storage reachable) and /metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis
import uvicorn
from dramatiq import Worker
from fastapi import FastAPI

from api_service import __version__
from api_service.db.engine import make_engine, sessionmaker
from api_service.jobs import broker as job_queue
from api_service.jobs import deliveries, pipeline, post_meeting  # noqa: F401 - registers the actors
from api_service.jobs.agent_watch import watch_forever
from api_service.jobs.sweep import sweep_forever
from api_service.settings import APISettings
from api_service.storage import make_storage
from shared.service import create_service_app

log = logging.getLogger("api_service.worker")


def main() -> None:
    settings = APISettings()
    broker = job_queue.configure(settings)
    client = redis.from_url(settings.redis_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        sessions = sessionmaker(engine)
        loops = [
            asyncio.create_task(sweep_forever(settings, sessions, client)),
            asyncio.create_task(watch_forever(settings, sessions, client)),
        ]
        yield
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await engine.dispose()

    app = create_service_app(
        name="worker",
        version=__version__,
        settings=settings,
        lifespan=lifespan,
        info=lambda: {"queues": sorted(broker.get_declared_queues()), "threads": settings.worker_threads},
    )
    app.state.health.add_check("redis", client.ping)
    app.state.health.add_check("storage", make_storage(settings).check)
    # Webhook deliveries have threads of their own: a slow receiver never holds up a transcription.
    workers = [
        Worker(broker, queues={"batch"}, worker_threads=settings.worker_threads),
        Worker(broker, queues={"webhooks"}, worker_threads=settings.webhook_threads),
    ]
    for worker in workers:
        worker.start()
    log.info("batch worker started with %d threads (+%d for webhooks)", settings.worker_threads, settings.webhook_threads)
    try:
        uvicorn.run(app, host=settings.api_host, port=settings.worker_http_port, log_config=None)
    finally:
        for worker in workers:
            worker.stop(timeout=10_000)


if __name__ == "__main__":
    main()
