from __future__ import annotations

from shared.settings import ServiceSettings


class DiarizationSettings(ServiceSettings):
    diarization_host: str = "127.0.0.1"
    diarization_port: int = 8002
