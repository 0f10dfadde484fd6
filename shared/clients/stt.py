"""The STT service over HTTP: ``/transcribe`` of raw PCM."""

from __future__ import annotations

import struct
from typing import Any

from shared.clients.base import ServiceClient
from shared.contracts.stt import TranscribeResponse


def wav(pcm: bytes, sample_rate: int) -> bytes:
    """Mono int16 PCM with a WAV header in front."""
    header = struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, 2 * sample_rate, 2, 16)
    return b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + header + b"data" + struct.pack("<I", len(pcm)) + pcm


class SttClient:
    def __init__(self, base_url: str, *, caller: str, service_keys: dict[str, str] | None = None, **options: Any) -> None:
        self.http = ServiceClient(base_url, caller=caller, service_keys=service_keys, **options)

    async def transcribe_pcm(
        self,
        pcm: bytes,
        *,
        sample_rate: int = 16_000,
        language: str | None = None,
        word_timestamps: bool = True,
        vocabulary: list[str] | None = None,
    ) -> TranscribeResponse:
        """Mono little-endian int16 PCM; the language is detected when none is given. With a
        ``vocabulary`` (names and terms to bias recognition toward) the audio goes as a WAV file
        in a multipart body with one ``vocabulary`` field a term: a long list would not fit in
        the URL (proxies and the server refuse request heads over 16 KB)."""
        params: dict[str, str] = {"word_timestamps": str(word_timestamps).lower()}
        if language:
            params["language"] = language
        if vocabulary:
            return await self.http.call(
                TranscribeResponse,
                "POST",
                "/transcribe",
                params=params,
                files={"audio_file": ("audio.wav", wav(pcm, sample_rate), "audio/wav")},
                data={"vocabulary": vocabulary},
            )
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
