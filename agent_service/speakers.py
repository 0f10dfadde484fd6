"""Who is speaking on a shared room microphone (an ESP32 device track carries several people):
each final utterance is embedded by the diarization service (/embed) and clustered online
against the speakers heard so far on that track."""

from __future__ import annotations

import logging

import httpx
import numpy as np

from shared.clients import DiarizationClient, ServiceRefused, ServiceUnavailable

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
# Utterances shorter than this give unreliable embeddings: they join the nearest known speaker
# and never start a new one.
MIN_NEW_SPEAKER_MS = 1200


# Where neither the settings nor the diarization service say: the embedded engine's CAM++ figure.
DEFAULT_THRESHOLD = 0.5


class OnlineSpeakers:
    """Incremental clustering: an utterance joins the most similar speaker centroid when the
    cosine similarity reaches ``threshold``, else it is a new speaker (up to ``max_speakers``).
    The threshold belongs to the embedding model: the diarization service states its own."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, max_speakers: int = 8) -> None:
        self.threshold = threshold
        self.max_speakers = max_speakers
        self._sums: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._sums)

    def assign(self, embedding: np.ndarray, duration_ms: int) -> int:
        """The speaker number (1-based) for this utterance; the centroid learns from it."""
        vector = embedding / (np.linalg.norm(embedding) or 1.0)
        if self._sums:
            similarity = [float(vector @ (s / np.linalg.norm(s))) for s in self._sums]
            best = int(np.argmax(similarity))
            if similarity[best] >= self.threshold or duration_ms < MIN_NEW_SPEAKER_MS or len(self._sums) >= self.max_speakers:
                self._sums[best] = self._sums[best] + vector
                return best + 1
        self._sums.append(vector.copy())
        return len(self._sums)


class RoomMicrophoneSpeakers:
    """Speaker numbers for one device track's utterances, by embedding each through the
    diarization service. If the service is down, the utterance keeps the previous speaker.
    ``threshold`` None: the service's own (``same_speaker`` of its answer)."""

    def __init__(self, diarization: DiarizationClient, threshold: float | None) -> None:
        self._client = diarization
        self._threshold = threshold
        self._speakers = OnlineSpeakers(threshold or DEFAULT_THRESHOLD)
        self._last = 1

    async def speaker_of(self, pcm: bytes) -> int:
        duration_ms = len(pcm) * 1000 // (2 * SAMPLE_RATE)
        if duration_ms < 300:
            return self._last
        try:
            answer = await self._client.embed(pcm, sample_rate=SAMPLE_RATE)
            embedding = np.asarray(answer.embeddings[0], dtype=np.float32)
        except (ServiceUnavailable, ServiceRefused, httpx.HTTPError, IndexError) as exc:
            log.warning("could not embed an utterance (%s); keeping speaker %d", exc, self._last)
            return self._last
        if self._threshold is None and answer.same_speaker is not None:
            self._speakers.threshold = answer.same_speaker
        self._last = self._speakers.assign(embedding, duration_ms)
        return self._last
