from __future__ import annotations

from fastapi import FastAPI

from diarization_service import __version__
from diarization_service.settings import DiarizationSettings
from shared.service import create_service_app


def create_app(settings: DiarizationSettings | None = None) -> FastAPI:
    settings = settings or DiarizationSettings()
    return create_service_app(name="diarization", version=__version__, settings=settings)
