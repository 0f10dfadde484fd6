"""The FastAPI app factory every service uses: logging, request ids, health, metrics, ``/info``,
and one error shape for unusable audio."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.audio import AudioError
from shared.health import Health
from shared.logs import configure_logging, request_id_var
from shared.metrics import Metrics, MetricsMiddleware
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the caller (or makes one), puts it in every log line of the
    request and echoes it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        token = request_id_var.set(rid)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            request_id_var.reset(token)


def create_service_app(
    *,
    name: str,
    version: str,
    settings: ServiceSettings,
    info: Callable[[], dict[str, Any]] | None = None,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    configure_logging(name, settings.log_level, settings.log_format)
    app = FastAPI(title=f"Intrascribe {name}", version=version, lifespan=lifespan, **fastapi_kwargs)
    app.state.settings = settings
    app.state.health = Health(name, version)
    app.state.metrics = Metrics(name)
    app.include_router(app.state.health.router())
    app.include_router(app.state.metrics.router())

    @app.get("/info", tags=["health"])
    async def service_info() -> dict[str, Any]:
        return {"service": name, "version": version, **(info() if info else {})}

    @app.exception_handler(AudioError)
    async def audio_error(_: Request, exc: AudioError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestIdMiddleware)
    return app


def serve(app: FastAPI | str, host: str, port: int) -> None:
    """Run under uvicorn with our logging (uvicorn's own config would replace it)."""
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=True, timeout_graceful_shutdown=10)
