"""FunASR engine: Paraformer or SenseVoice through FunASR's ``AutoModel``, loaded from a local
folder; ``stt_service.model_store`` turns a ModelScope name into one first (FunASR's own download
fails slowly offline with a misleading error). The service's own VAD has already cut the audio
into ≤ 30 s clips; an FSMN-VAD and a punctuation model may be added. FunASR decodes a list of
clips per call.

A custom vocabulary reaches the models that take hotwords (SeACo-Paraformer, the contextual
Paraformer) as FunASR's hotword file, one term a line (a term of several words stays one
hotword); the others (plain Paraformer, SenseVoice) have no biasing and decode as without one."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from shared.contracts.transcript import Word
from stt_service.engines.base import Clip, ClipResult, ClipSegment

log = logging.getLogger(__name__)

SENSEVOICE_LANGUAGES = ["zh", "en", "yue", "ja", "ko"]
HOTWORD_MODELS = ("SeacoParaformer", "ContextualParaformer")


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


class FunASREngine:
    name = "funasr"
    max_batch_size = 8

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str = "",
        vad_dir: str = "",
        punc_dir: str = "",
        device: str = "auto",
        cpu_threads: int = 0,
        max_batch_size: int = 8,
    ) -> None:
        if not (model_dir / "config.yaml").exists():
            raise FileNotFoundError(
                f"{model_dir}/config.yaml not found: STT_FUNASR_MODEL must be a FunASR model folder or a ModelScope name"
            )
        from funasr import AutoModel

        logging.getLogger().setLevel(logging.getLevelName(os.environ.get("LOG_LEVEL", "INFO")))  # funasr resets it on import
        self.device = ("cuda" if _cuda_available() else "cpu") if device == "auto" else device
        self._threads = cpu_threads or os.cpu_count() or 1
        common = {"disable_update": True, "disable_pbar": True, "device": self.device, "ncpu": self._threads}
        extra: dict[str, Any] = {}
        if vad_dir:
            extra.update(vad_model=vad_dir, vad_kwargs={"max_single_segment_time": 30_000})
        if punc_dir:
            extra["punc_model"] = punc_dir
        self._model = AutoModel(model=str(model_dir), **common, **extra)
        self._with_vad = bool(vad_dir)
        kind = str(yaml.safe_load((model_dir / "config.yaml").read_text()).get("model", ""))
        self._sensevoice = "SenseVoice" in kind
        self.vocabulary = "hotwords" if kind in HOTWORD_MODELS else None  # how a custom vocabulary is applied (/info)
        self._hotword_dir = tempfile.TemporaryDirectory(prefix="funasr-hotwords-") if self.vocabulary else None
        self.model = f"{kind} ({name or model_dir.name})"
        self.languages = SENSEVOICE_LANGUAGES if self._sensevoice else ["zh", "en"]
        self.max_batch_size = max_batch_size

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        return "zh", 1.0  # Paraformer-zh is bilingual zh/en and has no language identification

    def _hotword_file(self, terms: tuple[str, ...]) -> str:
        """The terms as FunASR's hotword file (one a line). Always a file we wrote: FunASR reads a
        hotword *string* that names a .txt file as that file, and one starting "http" as a URL to
        fetch, so a term must never be handed over as such a string."""
        assert self._hotword_dir is not None
        text = "".join(f"{term}\n" for term in terms)
        path = Path(self._hotword_dir.name) / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.txt"
        if not path.exists():
            path.write_text(text, encoding="utf-8")
        return str(path)

    def transcribe_clips(self, clips: list[Clip]) -> list[ClipResult]:
        if not self.vocabulary or len({c.vocabulary for c in clips}) == 1:
            return self._transcribe(clips)
        # A hotword list is one per call: clips with different vocabularies go in calls of their own.
        results: dict[int, ClipResult] = {}
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, clip in enumerate(clips):
            groups.setdefault(clip.vocabulary, []).append(i)
        for indices in groups.values():
            for i, result in zip(indices, self._transcribe([clips[i] for i in indices]), strict=True):
                results[i] = result
        return [results[i] for i in range(len(clips))]

    def _transcribe(self, clips: list[Clip]) -> list[ClipResult]:
        options: dict[str, Any] = {"batch_size": len(clips)}
        if self.vocabulary and clips[0].vocabulary:
            options["hotword"] = self._hotword_file(clips[0].vocabulary)
        if self._sensevoice:
            options.update(language=clips[0].language or "auto", use_itn=True)
        else:
            options["output_timestamp"] = True
        audio = [np.ascontiguousarray(c.audio, dtype=np.float32) for c in clips]
        if self._with_vad:  # FunASR's VAD path takes one input per call
            raw = [self._model.generate(input=a, **{**options, "batch_size": 1})[0] for a in audio]
        else:
            raw = self._model.generate(input=audio, **options)
        return [self._result(item, clip) for item, clip in zip(raw, clips, strict=True)]

    def _result(self, item: dict[str, Any], clip: Clip) -> ClipResult:
        language = clip.language or "zh"
        text = str(item.get("text") or "").strip()
        limit = clip.audio.size * 1000 // 16000
        stamps = item.get("timestamp") or []
        pieces = text.split()
        if not text:
            return ClipResult(language=language, segments=[])
        if not stamps or len(stamps) != len(pieces):
            return ClipResult(language=language, segments=[ClipSegment(0, limit, text)])
        words = [
            Word(start_ms=min(int(s), limit), end_ms=min(max(int(e), int(s)), limit), text=p)
            for p, (s, e) in zip(pieces, stamps, strict=True)
        ]
        # Chinese characters join without spaces; Latin words keep one.
        joined = "".join(p if _is_cjk(p) else f" {p}" for p in pieces).strip()
        return ClipResult(language=language, segments=[ClipSegment(words[0].start_ms, words[-1].end_ms, joined, words)])


def _is_cjk(piece: str) -> bool:
    return all("\u3040" <= ch <= "\u9fff" or ch in "，。？！、" for ch in piece)
