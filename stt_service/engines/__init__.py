"""Engine registry: STT_ENGINE picks one; ``auto`` takes FunASR when its model folder is
configured and present, else the embedded Whisper. The choice is made once, at start-up."""

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

    return FunASREngine(
        Path(settings.stt_funasr_model_dir),
        vad_dir=settings.stt_funasr_vad_dir,
        punc_dir=settings.stt_funasr_punc_dir,
        device=settings.stt_device,
        cpu_threads=settings.stt_cpu_threads,
        max_batch_size=settings.stt_max_batch_size,
    )


def choose_engine(settings: STTSettings) -> str:
    if settings.stt_engine != "auto":
        return settings.stt_engine
    model_dir = settings.stt_funasr_model_dir
    return "funasr" if model_dir and (Path(model_dir) / "config.yaml").exists() else "whisper"


def create_engine(settings: STTSettings) -> Engine:
    name = choose_engine(settings)
    factory = {"whisper": _whisper, "funasr": _funasr}[name]
    return factory(settings)
