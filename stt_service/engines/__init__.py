"""Engine registry: STT_ENGINE picks one; ``auto`` takes FunASR when STT_FUNASR_MODEL names a
hub model or a folder that holds one, else Whisper. The choice is made once, at start-up; hub
models are downloaded into the model cache the first time (``stt_service.model_store``)."""

from __future__ import annotations

import logging
from pathlib import Path

from stt_service.engines.base import Engine
from stt_service.settings import STTSettings

log = logging.getLogger(__name__)


def _whisper(settings: STTSettings) -> Engine:
    from stt_service.engines.whisper import WhisperEngine
    from stt_service.model_store import resolve_whisper_model

    model_dir = resolve_whisper_model(settings.stt_whisper_model, Path(settings.stt_model_cache_dir))
    return WhisperEngine(
        model_dir,
        model_name=settings.stt_whisper_model,
        device=settings.stt_device,
        compute_type=settings.stt_compute_type,
        cpu_threads=settings.stt_cpu_threads,
        max_batch_size=settings.stt_max_batch_size,
    )


def _funasr(settings: STTSettings) -> Engine:
    from stt_service.engines.funasr import FunASREngine
    from stt_service.model_store import ModelUnavailable, resolve_funasr_model

    cache = Path(settings.stt_model_cache_dir)

    def folder(value: str, setting: str) -> str:
        return str(resolve_funasr_model(value, cache, setting=setting)) if value else ""

    if not settings.stt_funasr_model:
        raise ModelUnavailable("STT_ENGINE=funasr needs STT_FUNASR_MODEL: a FunASR model folder or a ModelScope name")
    return FunASREngine(
        Path(folder(settings.stt_funasr_model, "STT_FUNASR_MODEL")),
        name="" if Path(settings.stt_funasr_model).is_dir() else settings.stt_funasr_model,
        vad_dir=folder(settings.stt_funasr_vad_model, "STT_FUNASR_VAD_MODEL"),
        punc_dir=folder(settings.stt_funasr_punc_model, "STT_FUNASR_PUNC_MODEL"),
        device=settings.stt_device,
        cpu_threads=settings.stt_cpu_threads,
        max_batch_size=settings.stt_max_batch_size,
    )


def choose_engine(settings: STTSettings) -> str:
    from stt_service.model_store import is_funasr_name

    if settings.stt_engine != "auto":
        return settings.stt_engine
    model = settings.stt_funasr_model
    return "funasr" if model and ((Path(model) / "config.yaml").exists() or is_funasr_name(model)) else "whisper"


def create_engine(settings: STTSettings) -> Engine:
    name = choose_engine(settings)
    factory = {"whisper": _whisper, "funasr": _funasr}[name]
    return factory(settings)
