"""Engine registry: DIARIZATION_ENGINE picks one; ``auto`` takes pyannote when its pipeline
folder is configured and present, else the embedded engine. Chosen once, at start-up."""

from __future__ import annotations

from pathlib import Path

from diarization_service.engines.base import Engine
from diarization_service.settings import DiarizationSettings


def choose_engine(settings: DiarizationSettings) -> str:
    if settings.diarization_engine != "auto":
        return settings.diarization_engine
    folder = settings.diarization_pyannote_dir
    return "pyannote" if folder and (Path(folder) / "config.yaml").exists() else "embedded"


def create_engine(settings: DiarizationSettings) -> Engine:
    if choose_engine(settings) == "pyannote":
        from diarization_service.engines.pyannote_engine import PyannoteEngine

        return PyannoteEngine(
            Path(settings.diarization_pyannote_dir), settings.diarization_device, settings.diarization_hf_token or None
        )
    from diarization_service.engines.embedded import EmbeddedEngine

    return EmbeddedEngine(settings.diarization_device, mark_overlap=settings.diarization_mark_overlap)
