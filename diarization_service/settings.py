from __future__ import annotations

from typing import Literal

from shared.settings import ServiceSettings


class DiarizationSettings(ServiceSettings):
    diarization_host: str = "127.0.0.1"
    diarization_port: int = 8002
    # auto = pyannote when DIARIZATION_PYANNOTE_DIR holds a pipeline (config.yaml), else embedded.
    diarization_engine: Literal["auto", "pyannote", "embedded"] = "auto"
    # Local pyannote pipeline folder (the speaker-diarization-community-1 layout).
    diarization_pyannote_dir: str = ""
    # Hugging Face token, only where a network exists and the folder names hub models.
    diarization_hf_token: str = ""
    diarization_device: Literal["auto", "cpu", "cuda"] = "auto"
    # Embedded engine: give a second speaker a turn where two voices are heard at once.
    diarization_mark_overlap: bool = True
    # Requests diarized at once; more wait, and beyond the queue limit answer 503.
    diarization_max_concurrency: int = 1
    diarization_max_queue: int = 16
