"""Run the agent worker and its health/metrics endpoint in one event loop. SIGTERM drains:
no new rooms are accepted and running ones finish (up to AGENT_DRAIN_TIMEOUT_S)."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn
from prometheus_client import Gauge

from agent_service import __version__
from agent_service.outbox import sweep
from agent_service.settings import AgentSettings
from agent_service.worker import build_server
from shared.clients import InternalApiClient
from shared.service import create_service_app

log = logging.getLogger("agent_service")


async def main() -> None:
    settings = AgentSettings()
    server = build_server(settings)
    app = create_service_app(
        name="agent", version=__version__, settings=settings, info=lambda: {"rooms": len(server.active_jobs)}
    )
    # What LiveKit balances on and an autoscaler reads: rooms this worker is transcribing.
    Gauge("agent_active_rooms", "Rooms this worker is transcribing", registry=app.state.metrics.registry).set_function(
        lambda: len(server.active_jobs)
    )
    registered = asyncio.Event()

    def on_registered(worker_id: str, _info: object) -> None:
        log.info("registered with LiveKit as %s", worker_id)
        registered.set()

    server.on("worker_registered", on_registered)

    async def is_registered() -> str | None:
        return None if registered.is_set() and not server.draining else "not registered with LiveKit"

    app.state.health.add_check("livekit", is_registered)
    http = uvicorn.Server(uvicorn.Config(app, host=settings.agent_http_host, port=settings.agent_http_port, log_config=None))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    # Outboxes left by room jobs that ended (or died) while the API was away are delivered here.
    deliveries = InternalApiClient(settings.api_url, caller="agent", service_keys=settings.service_keys, retries=0, timeout=30)
    sweeper = asyncio.create_task(sweep(settings.agent_outbox_dir, deliveries))
    worker_task = asyncio.create_task(server.run())
    http_task = asyncio.create_task(http.serve())
    await asyncio.wait([asyncio.create_task(stop.wait()), worker_task], return_when=asyncio.FIRST_COMPLETED)
    log.info("shutting down: draining")
    if not worker_task.done():
        await server.drain()
        await server.aclose()
    http.should_exit = True
    await http_task
    sweeper.cancel()
    await asyncio.gather(sweeper, return_exceptions=True)
    await deliveries.aclose()


if __name__ == "__main__":
    asyncio.run(main())
