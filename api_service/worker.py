"""The batch worker process: ``python -m api_service.worker``. Runs dramatiq worker threads for
the batch queue and serves /health, /health/ready (Redis and audio storage reachable) and /metrics."""

from __future__ import annotations

import logging

import redis.asyncio as redis
import uvicorn
from dramatiq import Worker

from api_service import __version__
from api_service.jobs import deliveries, pipeline, post_meeting  # noqa: F401 - registers the actors
from api_service.jobs.broker import broker, settings
from api_service.storage import make_storage
from shared.service import create_service_app

log = logging.getLogger("api_service.worker")


def main() -> None:
    app = create_service_app(
        name="worker",
        version=__version__,
        settings=settings,
        info=lambda: {"queues": sorted(broker.get_declared_queues()), "threads": settings.worker_threads},
    )
    client = redis.from_url(settings.redis_url)
    app.state.health.add_check("redis", client.ping)
    app.state.health.add_check("storage", make_storage(settings).check)
    worker = Worker(broker, worker_threads=settings.worker_threads)
    worker.start()
    log.info("batch worker started with %d threads", settings.worker_threads)
    try:
        uvicorn.run(app, host=settings.api_host, port=settings.worker_http_port, log_config=None)
    finally:
        worker.stop(timeout=10_000)


if __name__ == "__main__":
    main()
