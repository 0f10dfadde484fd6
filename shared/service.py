"""The FastAPI app factory every service uses: logging, request ids, health, metrics, ``/info``,
and one error shape (shared/errors.py), unusable audio included."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import errors, security
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


MULTIPART_SLACK = 64 * 1024  # a multipart envelope around the largest file


class BodyTooLarge(HTTPException):
    code = "body_too_large"

    def __init__(self, limit: int) -> None:
        size = f"{limit / 1e6:.0f} MB" if limit >= 1e6 else f"{limit // 1000} kB"
        super().__init__(413, f"The request body is larger than the limit of {size}.")
        self.params = {"limit_mb": round(limit / 1e6, 1)}

    def response(self) -> JSONResponse:
        return errors.response(413, self.detail, self.code, self.params)


class BodyLimitMiddleware:
    """413 for a request body over its path's limit: at once when Content-Length says so, and as
    soon as a streamed body passes it. Runs before routing, so before any authentication work.
    (FastAPI's own ``max_body_size`` does the same but answers in plain text, not in the JSON
    error shape every client of ours reads.)"""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await BodyTooLarge(limit).response()(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await exc.response()(scope, receive, send)


def create_service_app(
    *,
    name: str,
    version: str,
    settings: ServiceSettings,
    info: Callable[[], dict[str, Any]] | None = None,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    body_limit: Callable[[str], int] | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """``body_limit``: the largest request body for a path (default: the largest audio file)."""
    configure_logging(name, settings.log_level, settings.log_format)
    security.enforce(settings, name)
    app = FastAPI(title=f"Intrascribe {name}", version=version, lifespan=lifespan, **fastapi_kwargs)
    app.state.settings = settings
    app.state.health = Health(name, version)
    app.state.metrics = Metrics(name)
    app.include_router(app.state.health.router())
    app.include_router(app.state.metrics.router())

    @app.get("/info", tags=["health"])
    async def service_info() -> dict[str, Any]:
        return {"service": name, "version": version, **(info() if info else {})}

    app.add_exception_handler(StarletteHTTPException, errors.http_error)
    app.add_exception_handler(RequestValidationError, errors.validation_error)

    @app.exception_handler(AudioError)
    async def audio_error(_: Request, exc: AudioError) -> JSONResponse:
        return errors.response(exc.status_code, str(exc), exc.code, exc.params)

    default_limit = settings.max_audio_bytes + MULTIPART_SLACK
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit or (lambda _path: default_limit))
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestIdMiddleware)
    return app


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run under uvicorn with our logging (uvicorn's own config would replace it), believing
    forwarded headers only from TRUSTED_PROXIES."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips=app.state.settings.trusted_proxies,
        timeout_graceful_shutdown=10,
    )
