"""The STT service's wire: ``POST /transcribe`` and the ``/v1/stream`` WebSocket.

Stream, client → server: binary frames of little-endian int16 PCM (mono, ``sample_rate`` from the
query) and the text controls below (``config``: the stream's custom vocabulary, for the audio sent
after it, best sent first; ``flush``: end the current utterance now; ``end``: finish everything,
then the server closes). Server → client: one ``ready``; ``partial`` hypotheses of the
utterance in progress; one ``final`` per utterance, with word times; ``error`` for a frame it
could not use; ``end`` after the client's ``end``. A segment id is the same for an utterance's
partials and its final; times are milliseconds from the stream start plus ``offset_ms``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from shared.contracts.transcript import Segment, Word
from shared.contracts.vocabulary import Vocabulary


class TranscribeResponse(BaseModel):
    text: str
    language: str | None
    duration_ms: int
    processing_ms: int
    session_id: str | None = None
    segments: list[Segment]

    def words(self, offset_ms: int = 0) -> list[Word]:
        """Every segment's words, shifted by ``offset_ms`` (where this audio starts in a longer one)."""
        return [
            word.model_copy(update={"start_ms": word.start_ms + offset_ms, "end_ms": word.end_ms + offset_ms})
            for segment in self.segments
            for word in segment.words
        ]


class StreamReady(BaseModel):
    type: Literal["ready"] = "ready"
    engine: str
    model: str
    sample_rate: int


class _Hypothesis(BaseModel):
    """What a partial and a final of one utterance share (the same ``segment_id``)."""

    segment_id: str
    start_ms: int
    end_ms: int
    text: str
    language: str | None = None


class StreamPartial(_Hypothesis):
    type: Literal["partial"] = "partial"


class StreamFinal(_Hypothesis):
    type: Literal["final"] = "final"
    words: list[Word] = Field(default_factory=list)


class StreamError(BaseModel):
    type: Literal["error"] = "error"
    message: str


class StreamEnd(BaseModel):
    type: Literal["end"] = "end"


StreamEvent = Annotated[StreamReady | StreamPartial | StreamFinal | StreamError | StreamEnd, Field(discriminator="type")]
stream_event = TypeAdapter[StreamEvent](StreamEvent)


class Flush(BaseModel):
    type: Literal["flush"] = "flush"


class Finish(BaseModel):
    type: Literal["end"] = "end"


class StreamConfig(BaseModel):
    """Names and terms to bias recognition toward; replaces the stream's earlier list (an empty
    list ends the bias). A list the service cannot use is answered with an ``error`` and the
    stream goes on as before."""

    type: Literal["config"] = "config"
    vocabulary: Vocabulary = Field(default_factory=list)


StreamControl = Annotated[Flush | Finish | StreamConfig, Field(discriminator="type")]
stream_control = TypeAdapter[StreamControl](StreamControl)


class OpenAITranscription(BaseModel):
    """``/v1/audio/transcriptions`` with ``response_format=json``."""

    text: str


class OpenAISegment(BaseModel):
    id: int
    seek: int = 0
    start: float
    end: float
    text: str
    tokens: list[int] = Field(default_factory=list)
    temperature: float = 0.0
    avg_logprob: float | None = None
    compression_ratio: float | None = None
    no_speech_prob: float | None = None


class OpenAIWord(BaseModel):
    word: str
    start: float
    end: float


class OpenAIVerboseTranscription(BaseModel):
    """``response_format=verbose_json``: segments and/or words as the request's
    ``timestamp_granularities[]`` asked."""

    task: Literal["transcribe"] = "transcribe"
    language: str | None
    duration: float
    text: str
    segments: list[OpenAISegment] | None = None
    words: list[OpenAIWord] | None = None
