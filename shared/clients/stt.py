"""The STT service over HTTP: ``/transcribe`` of raw PCM."""

from __future__ import annotations

from typing import Any

from shared.clients.base import ServiceClient
from shared.contracts.stt import TranscribeResponse


class SttClient:
    def __init__(self, base_url: str, *, caller: str, service_keys: dict[str, str] | None = None, **options: Any) -> None:
        self.http = ServiceClient(base_url, caller=caller, service_keys=service_keys, **options)

    async def transcribe_pcm(
        self, pcm: bytes, *, sample_rate: int = 16_000, language: str | None = None, word_timestamps: bool = True
    ) -> TranscribeResponse:
        """Mono little-endian int16 PCM; the language is detected when none is given."""
        params: dict[str, str] = {"word_timestamps": str(word_timestamps).lower()}
        if language:
            params["language"] = language
        return await self.http.call(
            TranscribeResponse,
            "POST",
            "/transcribe",
            params=params,
            content=pcm,
            headers={"Content-Type": "application/octet-stream", "X-Sample-Rate": str(sample_rate)},
        )

    async def aclose(self) -> None:
        await self.http.aclose()
