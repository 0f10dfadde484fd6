"""``python -m agent_service.bridge``: the device bridge service (HTTP health/metrics and the
devices' WebSocket on BRIDGE_PORT)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from agent_service import __version__
from agent_service.bridge.server import mount
from agent_service.settings import BridgeSettings
from shared.service import create_service_app, serve


def create_app(settings: BridgeSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.bridge.aclose()

    app = create_service_app(
        name="bridge",
        version=__version__,
        settings=settings,
        info=lambda: {"devices": len(app.state.bridge.links), "protocol": 1},
        lifespan=lifespan,
    )
    mount(app, settings)
    return app


if __name__ == "__main__":
    settings = BridgeSettings()
    serve(create_app(settings), settings.bridge_host, settings.bridge_port)
