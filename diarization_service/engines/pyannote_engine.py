"""pyannote.audio 4 engine: a SpeakerDiarization pipeline loaded from a local folder (the
speaker-diarization-community-1 layout; a hub pipeline is downloaded into one first, by
``diarization_service.models``), audio passed in memory, telemetry off."""

from __future__ import annotations

import os

# Before pyannote is imported: no telemetry, and no hub look-ups for local folders.
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")

from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from pyannote.audio import Inference, Model, Pipeline
from pyannote.core import Annotation

from diarization_service.engines.base import AudioSource, Diarization, SpeakerHints, Turn
from shared.vad import SAMPLE_RATE


def _turns(annotation: Annotation) -> list[Turn]:
    return [
        Turn(int(segment.start * 1000), int(segment.end * 1000), str(label))
        for segment, _track, label in annotation.itertracks(yield_label=True)
    ]


class PyannoteEngine:
    name = "pyannote"
    same_speaker: float | None = None  # depends on the pipeline's embedding model; the agent's default applies

    def __init__(self, pipeline_dir: Path, device: str = "auto", token: str | None = None, name: str | None = None) -> None:
        if not (pipeline_dir / "config.yaml").exists():
            raise FileNotFoundError(f"{pipeline_dir}/config.yaml not found: not a pyannote pipeline folder")
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        pipeline = Pipeline.from_pretrained(pipeline_dir, token=token or None)
        if pipeline is None:
            raise FileNotFoundError(f"{pipeline_dir} holds no pyannote pipeline")
        self._pipeline = pipeline.to(torch.device(self.device))
        self.model = name or str(pipeline_dir.name)
        # The pipeline's own embedding model serves /embed, so live attribution and batch
        # diarization compare voices in the same space.
        embedding = Model.from_pretrained(pipeline_dir / "embedding", token=token or None)
        if embedding is None:
            raise FileNotFoundError(f"{pipeline_dir}/embedding holds no pyannote model")
        self._embedder = Inference(embedding, window="whole", device=torch.device(self.device))
        self.embedding_dim = int(cast(int, embedding.dimension))

    def diarize(self, audio: AudioSource, hints: SpeakerHints) -> Diarization:
        # The pipeline slides its own windows over one waveform, so it gets the recording whole.
        samples = audio.read(0, audio.num_samples)
        waveform = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).unsqueeze(0)
        kwargs = {k: v for k, v in vars(hints).items() if v is not None}
        output: Any = self._pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, **kwargs)
        return Diarization(turns=_turns(output.speaker_diarization), exclusive=_turns(output.exclusive_speaker_diarization))

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        vectors = []
        for clip in clips:
            waveform = torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32)).unsqueeze(0)
            vector = np.asarray(self._embedder({"waveform": waveform, "sample_rate": SAMPLE_RATE}), dtype=np.float32).reshape(-1)
            vectors.append(vector / (np.linalg.norm(vector) + 1e-9))
        return np.array(vectors, dtype=np.float32).reshape(len(clips), self.embedding_dim)
