"""Build a random-weight pyannote pipeline folder (speaker-diarization-community-1 layout:
PyanNet segmentation, WeSpeakerResNet34 embedding, VBx PLDA), fully offline. Real weights cannot
be downloaded here; this exercises the real loading and inference path in tests.

    python -m tests.random_pipeline <folder>"""

from __future__ import annotations

import sys
from pathlib import Path

import lightning
import numpy as np
import pyannote.audio
import torch
import yaml
from pyannote.audio.core.task import Problem, Resolution, Specifications
from pyannote.audio.models.embedding import WeSpeakerResNet34
from pyannote.audio.models.segmentation import PyanNet

EMBEDDING_DIM, LDA_DIM = 256, 128


def _save(model: pyannote.audio.Model, path: Path) -> None:
    # A Lightning checkpoint plus the "pyannote.audio" section Model.from_pretrained reads.
    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
    }
    model.on_save_checkpoint(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def build(folder: Path, seed: int = 0) -> Path:
    folder = folder.resolve()
    # pyannote chooses another loader when these words appear in an embedding path.
    if any(word in str(folder).lower() for word in ("wespeaker", "speechbrain", "nvidia")):
        raise ValueError(f"choose a folder name without wespeaker/speechbrain/nvidia: {folder}")
    torch.manual_seed(seed)
    segmentation = PyanNet(sample_rate=16000, num_channels=1)
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=10.0,
        min_duration=10.0,
        warm_up=(0.0, 0.0),
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    segmentation.build()
    _save(segmentation, folder / "segmentation" / "pytorch_model.bin")
    embedding = WeSpeakerResNet34(sample_rate=16000, num_channels=1)
    embedding.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0)
    _save(embedding, folder / "embedding" / "pytorch_model.bin")

    rng = np.random.default_rng(seed)
    (folder / "plda").mkdir(parents=True, exist_ok=True)
    lda, _ = np.linalg.qr(rng.standard_normal((EMBEDDING_DIM, LDA_DIM)))
    np.savez(
        folder / "plda" / "xvec_transform.npz",
        mean1=0.01 * rng.standard_normal(EMBEDDING_DIM),
        mean2=0.01 * rng.standard_normal(LDA_DIM),
        lda=lda,
    )
    transform, _ = np.linalg.qr(rng.standard_normal((LDA_DIM, LDA_DIM)))
    np.savez(
        folder / "plda" / "plda.npz",
        mu=0.01 * rng.standard_normal(LDA_DIM),
        tr=transform,
        psi=np.sort(rng.uniform(0.5, 20.0, LDA_DIM))[::-1].copy(),
    )

    major = pyannote.audio.__version__.split(".")[0]
    config = {
        "dependencies": {"pyannote.audio": f"{major}.0.0"},
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "segmentation": "$model/segmentation",
                "segmentation_step": 0.1,
                "segmentation_batch_size": 32,
                "embedding": "$model/embedding",
                "embedding_batch_size": 32,
                "embedding_exclude_overlap": False,
                "plda": "$model/plda",
                "clustering": "VBxClustering",
            },
        },
        "params": {"segmentation": {"min_duration_off": 0.0}, "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8}},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
