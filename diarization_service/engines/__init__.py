"""Engine registry: DIARIZATION_ENGINE picks one; ``auto`` takes pyannote when
DIARIZATION_PYANNOTE_MODEL names a hub pipeline or a folder that holds one, else the embedded
engine. Chosen once, at start-up; a hub pipeline is downloaded into the model cache the first
time (``diarization_service.models``)."""

from __future__ import annotations

from pathlib import Path

from diarization_service.engines.base import Engine
from diarization_service.settings import DiarizationSettings


def choose_engine(settings: DiarizationSettings) -> str:
    from diarization_service.models import is_hub_pipeline

    if settings.diarization_engine != "auto":
        return settings.diarization_engine
    model = settings.diarization_pyannote_model
    return "pyannote" if model and ((Path(model) / "config.yaml").exists() or is_hub_pipeline(model)) else "embedded"


def create_engine(settings: DiarizationSettings) -> Engine:
    if choose_engine(settings) == "pyannote":
        from diarization_service.engines.pyannote_engine import PyannoteEngine
        from diarization_service.models import resolve_pyannote_pipeline

        model = settings.diarization_pyannote_model
        token = settings.diarization_hf_token or None
        folder = resolve_pyannote_pipeline(model, Path(settings.diarization_model_cache_dir), token)
        return PyannoteEngine(folder, settings.diarization_device, token, name=model if folder != Path(model) else None)
    from diarization_service.engines.embedded import EmbeddedEngine

    return EmbeddedEngine(settings.diarization_device, mark_overlap=settings.diarization_mark_overlap)
