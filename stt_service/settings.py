from __future__ import annotations

from shared.settings import ServiceSettings


class STTSettings(ServiceSettings):
    stt_host: str = "127.0.0.1"
    stt_port: int = 8001
