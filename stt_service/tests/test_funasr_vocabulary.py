"""The FunASR engine's custom vocabulary, with FunASR's model stood in for (no SeACo-Paraformer
weights can be downloaded here): the terms reach ``generate`` as a hotword file of our own, one
term a line, one call per distinct vocabulary, results back in the clips' order."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stt_service.engines.base import Clip
from stt_service.engines.funasr import FunASREngine

pytestmark = [pytest.mark.unit]


class Model:
    """Records each ``generate`` call; answers each input with its length as text."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def generate(self, input: list[np.ndarray], **options: Any) -> list[dict[str, Any]]:
        hotword = options.get("hotword")
        self.calls.append({"n": len(input), "hotwords": Path(hotword).read_text() if hotword else None, "file": hotword})
        return [{"text": f"clip {a.size}"} for a in input]


def engine(hotwords: bool) -> tuple[FunASREngine, Model]:
    model = Model()
    funasr = FunASREngine.__new__(FunASREngine)  # the model loading is FunASR's; stood in for here
    funasr._model, funasr._with_vad, funasr._sensevoice, funasr.max_batch_size = model, False, False, 8
    funasr.vocabulary = "hotwords" if hotwords else None
    funasr._hotword_dir = tempfile.TemporaryDirectory() if hotwords else None
    return funasr, model


def test_each_vocabulary_goes_to_its_own_call_as_a_file_of_ours() -> None:
    funasr, model = engine(hotwords=True)
    terms = ("http://example.com/evil.txt", "Brightwell Labs", "东方明珠")
    clips = [
        Clip(np.zeros(1600, np.float32), "zh", vocabulary=terms),
        Clip(np.zeros(3200, np.float32), "zh"),
        Clip(np.zeros(4800, np.float32), "zh", vocabulary=terms),
        Clip(np.zeros(6400, np.float32), "zh", vocabulary=("Okonkwo",)),
    ]
    results = funasr.transcribe_clips(clips)
    assert [r.text for r in results] == ["clip 1600", "clip 3200", "clip 4800", "clip 6400"]
    calls = sorted(model.calls, key=lambda c: c["hotwords"] or "")
    assert [(c["n"], c["hotwords"]) for c in calls] == [
        (1, None),
        (1, "Okonkwo\n"),
        (2, "http://example.com/evil.txt\nBrightwell Labs\n东方明珠\n"),  # a line each: never a URL or a path
    ]
    assert all(c["file"] is None or c["file"].startswith(funasr._hotword_dir.name) for c in calls)  # type: ignore[union-attr]
    # The same list again: the same file, and one call for a batch that shares a vocabulary.
    model.calls.clear()
    funasr.transcribe_clips([clips[0], clips[2]])
    assert [c["n"] for c in model.calls] == [2] and model.calls[0]["file"] == calls[2]["file"]


def test_a_model_without_hotwords_decodes_as_without_a_vocabulary() -> None:
    funasr, model = engine(hotwords=False)
    clips = [Clip(np.zeros(1600, np.float32), "zh", vocabulary=("Okonkwo",)), Clip(np.zeros(3200, np.float32), "zh")]
    assert [r.text for r in funasr.transcribe_clips(clips)] == ["clip 1600", "clip 3200"]
    assert [(c["n"], c["hotwords"]) for c in model.calls] == [(2, None)]
