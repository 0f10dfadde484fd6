from __future__ import annotations

from fastapi import FastAPI

from shared.service import create_service_app
from stt_service import __version__
from stt_service.settings import STTSettings


def create_app(settings: STTSettings | None = None) -> FastAPI:
    settings = settings or STTSettings()
    return create_service_app(name="stt", version=__version__, settings=settings)
