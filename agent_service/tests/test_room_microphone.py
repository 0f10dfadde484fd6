"""Speakers on a shared room microphone: the line between one voice and two is the diarization
service's own (it belongs to the embedding model), unless the settings give one."""

from __future__ import annotations

import numpy as np
import pytest

from agent_service.speakers import RoomMicrophoneSpeakers
from shared.contracts.diarization import EmbedResponse

pytestmark = [pytest.mark.unit]

SECOND = b"\x00\x00" * 16_000  # the PCM itself is not looked at by the stand-in service


class Service:
    """Answers /embed with the next of ``vectors`` and the engine's ``same_speaker``."""

    def __init__(self, vectors: list[list[float]], same_speaker: float | None) -> None:
        self.vectors, self.same_speaker = iter(vectors), same_speaker

    async def embed(self, pcm: bytes, *, sample_rate: int = 16_000) -> EmbedResponse:
        vector = next(self.vectors)
        return EmbedResponse(dim=len(vector), segments=[(0, 1000)], embeddings=[vector], same_speaker=self.same_speaker)


def at(cosine: float) -> list[float]:
    """A unit vector at ``cosine`` to [1, 0]."""
    return [cosine, float(np.sqrt(1 - cosine**2))]


@pytest.mark.parametrize(
    ("same_speaker", "configured", "speakers"),
    [(0.5, None, [1, 1]), (0.8, None, [1, 2]), (None, None, [1, 1]), (0.5, 0.8, [1, 2])],
    ids=["service-says-0.5", "service-says-0.8", "service-silent", "settings-win"],
)
async def test_the_threshold_is_the_services_unless_configured(
    same_speaker: float | None, configured: float | None, speakers: list[int]
) -> None:
    service = Service([[1.0, 0.0], at(0.6)], same_speaker)
    room = RoomMicrophoneSpeakers(service, configured)  # type: ignore[arg-type]
    assert [await room.speaker_of(SECOND * 2) for _ in range(2)] == speakers
