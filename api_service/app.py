from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from api_service import __version__, mcp_server
from api_service.db.engine import make_engine, migrate, sessionmaker
from api_service.domain.status import InvalidTransition
from api_service.jobs import broker
from api_service.livekit_access import AgentDispatcher, LiveKitUnavailable
from api_service.llm import from_settings
from api_service.routes import (
    account,
    assistant,
    auth,
    batch,
    devices,
    extraction,
    internal,
    livekit,
    realtime,
    sessions,
    sharing,
    stats,
    summaries,
    templates,
    webhooks,
)
from api_service.settings import APISettings
from api_service.storage import StorageError, make_storage
from api_service.web import mount_web
from shared import errors
from shared.service import MULTIPART_SLACK, create_service_app
from shared.service_auth import require_service


def create_app(settings: APISettings | None = None) -> FastAPI:
    settings = settings or APISettings()
    if not settings.auth_jwt_secret:
        raise RuntimeError("AUTH_JWT_SECRET must be set: user tokens cannot be verified without it")
    broker.configure(settings)  # jobs and webhook deliveries are sent through it; no connection yet

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.database_auto_migrate:
            await migrate(settings.database_url)
        engine = make_engine(settings.database_url)
        app.state.sessionmaker = sessionmaker(engine)
        app.state.redis = redis.from_url(settings.redis_url)
        app.state.dispatcher = AgentDispatcher(settings)
        app.state.llm = from_settings(settings)
        app.state.storage = make_storage(settings)

        async def database() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        app.state.health.add_check("database", database)
        app.state.health.add_check("redis", app.state.redis.ping)
        app.state.health.add_check("storage", app.state.storage.check)
        async with mcp_server.serving(app):  # the MCP transport at /mcp
            yield
        await app.state.storage.aclose()
        await app.state.dispatcher.aclose()
        await app.state.redis.aclose()
        await engine.dispose()

    uploads = [route for route in (*batch.uploads.routes, *internal.uploads.routes) if isinstance(route, APIRoute)]

    def body_limit(path: str) -> int:
        """The routes of the `uploads` routers take audio files up to the upload limit; every
        other body (JSON, forms) is bounded by API_MAX_BODY_BYTES."""
        if any(route.path_regex.match(path) for route in uploads):
            return settings.batch_max_upload_bytes + MULTIPART_SLACK
        return settings.api_max_body_bytes

    app = create_service_app(
        name="api",
        version=__version__,
        settings=settings,
        lifespan=lifespan,
        body_limit=body_limit,
        info=lambda: {
            "livekit_url": settings.livekit_public_url or settings.livekit_url,
            "agent_name": settings.agent_name,
            "database": settings.database_url.split("://")[0],
        },
    )

    @app.exception_handler(UnicodeEncodeError)
    async def unencodable_text(_request: Request, exc: UnicodeEncodeError) -> JSONResponse:
        # JSON allows lone surrogates ("\\ud800"); no database can store them.
        return errors.response(422, f"text is not valid Unicode: {exc.reason}", "invalid_text")

    @app.exception_handler(InvalidTransition)
    async def invalid_transition(_request: Request, exc: InvalidTransition) -> JSONResponse:
        return errors.response(409, str(exc), "invalid_transition")

    @app.exception_handler(LiveKitUnavailable)
    async def livekit_down(_request: Request, _exc: LiveKitUnavailable) -> JSONResponse:
        return errors.response(
            503,
            "The LiveKit server is unavailable; try again in a few seconds.",
            "service_unavailable",
            {"service": "livekit"},
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(StorageError)
    async def storage_failed(_request: Request, exc: StorageError) -> JSONResponse:
        # The sentence is for operators (it may name the storage); clients show the code's.
        return errors.response(503, f"audio storage: {exc}", "service_unavailable", {"service": "storage"})

    @app.exception_handler(StatementError)
    async def unstorable(_request: Request, exc: StatementError) -> JSONResponse:
        if isinstance(exc.orig, UnicodeEncodeError):
            return errors.response(422, "text is not valid Unicode (lone surrogate characters)", "invalid_text")
        raise exc

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True, allow_methods=["*"], allow_headers=["*"]
        )
    for router in (
        auth.router,
        sessions.router,
        sharing.router,
        livekit.router,
        realtime.router,
        batch.router,
        templates.router,
        summaries.router,
        extraction.router,
        stats.router,
        assistant.router,
        webhooks.router,
        devices.router,
        account.router,
    ):
        app.include_router(router)
    app.include_router(batch.uploads)
    app.include_router(livekit.meeting)
    app.include_router(mcp_server.router)  # /mcp: MCP tools for assistants, behind the same bearer auth
    app.include_router(internal.router, dependencies=[require_service(settings.service_keys)])
    app.include_router(internal.uploads, dependencies=[require_service(settings.service_keys)])
    mount_web(app, settings.web_dist_dir)  # last: its catch-all serves the web app's own pages
    return app
