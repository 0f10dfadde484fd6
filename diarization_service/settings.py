from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class DiarizationSettings(ServiceSettings):
    diarization_host: str = "127.0.0.1"
    diarization_port: int = 8002
    # auto = pyannote when DIARIZATION_PYANNOTE_MODEL names a hub pipeline or a folder holding one
    # (config.yaml), else embedded.
    diarization_engine: Literal["auto", "pyannote", "embedded"] = "auto"
    # pyannote pipeline: a local folder (the speaker-diarization-community-1 layout) or a Hugging
    # Face repo id (pyannote/speaker-diarization-community-1), downloaded once into the model
    # cache. Was DIARIZATION_PYANNOTE_DIR.
    diarization_pyannote_model: str = Field(
        default="", validation_alias=AliasChoices("diarization_pyannote_model", "diarization_pyannote_dir")
    )
    # Hugging Face token for gated pipelines (pyannote's are); empty = huggingface_hub's own HF_TOKEN or login.
    diarization_hf_token: str = ""
    # The model cache (relative to the working directory); hub downloads go to huggingface/ in it.
    diarization_model_cache_dir: str = "models"
    diarization_device: Literal["auto", "cpu", "cuda"] = "auto"
    # Embedded engine: give a second speaker a turn where two voices are heard at once.
    diarization_mark_overlap: bool = True
    # Requests diarized at once; more wait, and beyond the queue limit answer 503.
    diarization_max_concurrency: int = 1
    diarization_max_queue: int = 16
