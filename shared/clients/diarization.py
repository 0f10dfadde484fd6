"""The diarization service: ``/diarize`` of a (streamed) recording and ``/embed`` of a clip."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from shared.clients.base import ServiceClient
from shared.contracts.diarization import DiarizationResponse, EmbedResponse

PCM16 = "application/octet-stream"


def pcm_headers(sample_rate: int, num_bytes: int | None = None) -> dict[str, str]:
    """Headers that describe a body of mono little-endian int16 PCM."""
    headers = {"Content-Type": PCM16, "X-Sample-Rate": str(sample_rate)}
    if num_bytes is not None:
        headers["Content-Length"] = str(num_bytes)
    return headers


class DiarizationClient:
    def __init__(self, base_url: str, *, caller: str, service_keys: dict[str, str] | None = None, **options: Any) -> None:
        self.http = ServiceClient(base_url, caller=caller, service_keys=service_keys, **options)

    async def diarize(
        self,
        body: Callable[[], AsyncIterator[bytes]] | bytes,
        headers: dict[str, str],
        *,
        num_speakers: int | None = None,
        rttm: bool = False,
    ) -> DiarizationResponse:
        """Turns of an audio file, or of PCM that ``headers`` describe (``pcm_headers``). A
        streamed body is given as a function that makes the stream, so a retry sends it again."""
        params: dict[str, Any] = {"rttm": str(rttm).lower()}
        if num_speakers:
            params["num_speakers"] = num_speakers
        return await self.http.call(DiarizationResponse, "POST", "/diarize", params=params, content=body, headers=headers)

    async def embed(
        self, pcm: bytes, *, sample_rate: int = 16_000, segments: list[tuple[int, int]] | None = None
    ) -> EmbedResponse:
        """One speaker embedding per segment of the PCM (or one for all of it)."""
        params = {"segments": json.dumps(segments)} if segments else {}
        return await self.http.call(EmbedResponse, "POST", "/embed", params=params, content=pcm, headers=pcm_headers(sample_rate))

    async def aclose(self) -> None:
        await self.http.aclose()
