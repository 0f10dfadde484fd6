"""The web app: its public configuration (which sign-in to use) and the built single-page app
(``web/dist``, made by ``scripts/build_web.sh``) served at ``/``.

Client-side routes (``/sessions/<id>``, ``/join/<id>``, …) all answer ``index.html``; the API's
own prefixes are excluded from that fallback by the route's path pattern, so an unknown
``/api/…`` path still answers the API's 404 and a wrong method the API's 405."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.convertors import Convertor, register_url_convertor
from starlette.types import Scope

from api_service import __version__, mail
from api_service.deps import SettingsDep

# Paths that belong to the API, never to the web app.
RESERVED = ("api", "internal", "mcp", "docs", "redoc", "openapi.json", "health", "metrics", "info")

NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Intrascribe</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Intrascribe API is running</h1>
<p>The web app has not been built. Build it with <code>make setup</code>
(or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>; it needs Node.js 20.19+),
or point <code>WEB_DIST_DIR</code> at a built copy. Then reload this page.</p>
<p>The API's documentation is at <a href="/docs">/docs</a>.</p></body></html>"""


class WebPathConvertor(Convertor[str]):
    """Any path (like Starlette's ``path``) except the API's own prefixes."""

    regex = r"(?!(?:" + "|".join(p.replace(".", r"\.") for p in RESERVED) + r")(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("webpath", WebPathConvertor())


class HashedAssets(StaticFiles):
    """Vite's ``assets/`` folder: file names carry a content hash, so they may be cached forever."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


class AuthConfig(BaseModel):
    provider: Literal["local", "supabase"]
    # How a local account's forgotten password is reset: by an e-mailed link (SMTP configured), or
    # by the server's administrator. With Supabase Auth, Supabase's own recovery e-mail.
    recovery: Literal["email", "admin", "supabase"] = "admin"
    supabase_url: str | None = None
    supabase_anon_key: str | None = None


class WebConfig(BaseModel):
    version: str
    auth: AuthConfig
    device_bridge_url: str | None = Field(
        default=None, description="where room microphones connect (DEVICE_BRIDGE_PUBLIC_URL); null: the app's own host"
    )


router = APIRouter(tags=["web"])


@router.get("/api/v1/config", response_model=WebConfig)
async def web_config(settings: SettingsDep) -> WebConfig:
    """Public settings the web app needs before anyone signs in."""
    if settings.auth_supabase_url and settings.auth_supabase_anon_key:
        auth = AuthConfig(
            provider="supabase",
            supabase_url=settings.auth_supabase_url,
            supabase_anon_key=settings.auth_supabase_anon_key,
            recovery="supabase",
        )
    else:
        auth = AuthConfig(provider="local", recovery="email" if mail.configured(settings) else "admin")
    return WebConfig(version=__version__, auth=auth, device_bridge_url=settings.device_bridge_public_url or None)


def mount_web(app: FastAPI, dist_dir: str) -> None:
    """Serve the built web app from ``dist_dir``; register after every API route."""
    app.include_router(router)
    dist = Path(dist_dir).resolve()
    index = dist / "index.html"
    if (dist / "assets").is_dir():
        app.mount("/assets", HashedAssets(directory=dist / "assets"), name="web-assets")

    @app.api_route("/{path:webpath}", methods=["GET", "HEAD"], include_in_schema=False)
    async def web_app(path: str) -> Response:
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503)
        name = path.rsplit("/", 1)[-1]
        file = (dist / path).resolve()
        if path and not name.startswith(".") and file.is_file() and file.is_relative_to(dist):
            return FileResponse(file)
        if "." in name:  # a missing (or hidden) file, not a page of the app
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
