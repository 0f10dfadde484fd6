"""Streaming recognition over a WebSocket (the messages: ``shared.contracts.stt``).

A ``config`` control sets the stream's custom vocabulary, for every decode that starts after it.

Partials of the utterance in progress come at least every STT_PARTIAL_INTERVAL_MS of speech
(further apart when the service is saturated); one final per utterance at each VAD endpoint,
decoded again over the whole utterance with word timings.

The final's decode starts early, when a pause begins, while the service is idle: if the pause
becomes the endpoint the final is ready (or nearly) when the endpoint is reached; if speech
resumes the early decode is dropped.

A final is a sentence or a clause people can read, as the decode has it. At an endpoint the
utterance is decoded and held: a decode of under three words ("And so", "Ask not!") is a fragment
that waits STT_FINAL_MERGE_MS of audio for its speaker, one that does not end a sentence (no
". ? !", "。？！" at its end: a breath after "And so, my fellow Americans") waits
STT_PHRASE_HOLD_MS, and one that ends a sentence is final at once. If the speaker goes on within
the wait the utterance simply continues (one final, one segment id); if not, it is final as it is:
then that was all they said. Measured in audio, not in wall time; when the speaker goes on before
the decode is back (a busy service), the utterance continues only if its speech was shorter than
FRAGMENT_SPEECH_S, so a busy service merges fragments as an idle one and never runs sentences together.

And a pause shorter than the endpoint's silence ends a sentence too when its early decode says so
(STT_PHRASE_END_ON_PUNCTUATION): people in a conversation rarely stop for half a second between
sentences, and one caption of a whole turn comes late and long. If speech has resumed by the time
the decode comes back, the utterance is split at that pause: the decode is the first part's final."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

import numpy as np
from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect, status
from pydantic import ValidationError

from shared.audio import AudioError, pcm16_to_float
from shared.contracts.stt import (
    Finish,
    Flush,
    StreamConfig,
    StreamEnd,
    StreamError,
    StreamEvent,
    StreamFinal,
    StreamPartial,
    StreamReady,
    stream_control,
)
from shared.service_auth import credential_from, verify_service_key
from shared.vad import SAMPLE_RATE, Endpointer, VadParams
from stt_service.engines.base import Clip, ClipResult
from stt_service.languages import LanguageRequest, UnsupportedLanguage, parse_language
from stt_service.scheduler import Overloaded, Priority, Scheduler
from stt_service.settings import STTSettings
from stt_service.transcriber import Transcription, to_segments

log = logging.getLogger(__name__)
router = APIRouter(tags=["streaming"])
PREROLL = SAMPLE_RATE  # audio kept before an utterance start, for its padding (STT_UTTERANCE_PREROLL_MS)
# A final of fewer words than this is a fragment that waits for more speech; while its decode has
# not come back, an utterance whose speech is shorter than FRAGMENT_SPEECH_S is taken for one (its
# length with the pre-roll and the VAD's end padding is compared).
FRAGMENT_WORDS = 3
FRAGMENT_SPEECH_S = 0.8
Send = Callable[[StreamEvent], Awaitable[None]]
# A partial is shown only when most of what it shows is letters (of any script): a short decode
# of noise or of a word's first syllable comes out as "S9", "...", "♪" or "$5", which people
# read as junk. The final, decoded over the whole utterance, always comes and is never filtered.
PARTIAL_MIN_LETTERS = 0.6
# What ends a sentence in a decode (an ellipsis is a trailing off, not an end).
TERMINAL = (".", "?", "!", "。", "？", "！")
CLOSING = "\"')]»”’」』"


def readable(text: str) -> bool:
    """Whether a partial's text is worth showing: mostly letters, ignoring spaces."""
    shown = [c for c in text if not c.isspace()]
    return bool(shown) and sum(c.isalpha() for c in shown) >= PARTIAL_MIN_LETTERS * len(shown)


def words(text: str, language: str) -> float:
    """Words as a reader counts them: runs with a letter between spaces; in Chinese and Japanese,
    written without spaces, two characters make a word."""
    if language in {"zh", "ja", "yue"}:
        return sum(c.isalpha() for c in text) / 2
    return sum(any(c.isalpha() for c in word) for word in text.split())


def ends_sentence(text: str) -> bool:
    """Whether a decode's text ends a sentence: terminal punctuation, maybe inside quotes."""
    text = text.rstrip().rstrip(CLOSING)
    return text.endswith(TERMINAL) and not text.endswith("..")


class StreamSession:
    def __init__(
        self,
        scheduler: Scheduler,
        settings: STTSettings,
        language: LanguageRequest,
        *,
        stream_id: str,
        offset_ms: int,
        send: Send,
    ) -> None:
        self._scheduler = scheduler
        self._language = language
        self._send = send
        self._id = stream_id
        self._offset_ms = offset_ms
        vad = VadParams()
        self._endpointer = Endpointer(
            vad,
            settings.stt_endpoint_silence_ms,
            settings.stt_max_utterance_s,
            start_pad_ms=settings.stt_utterance_preroll_ms,
        )
        self._partial_every = int(settings.stt_partial_interval_ms * SAMPLE_RATE / 1000)
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0  # absolute sample index of _buffer[0]
        self._utterance = 0
        self._utterance_start = 0
        self._next_partial_at = 0
        self._partial_seconds = 0.0  # how long the last partial took, queueing included
        self._short_window = settings.stt_live_short_window
        self.vocabulary: tuple[str, ...] = ()  # the custom vocabulary of the decodes from now on
        self._partial_task: asyncio.Task[None] | None = None
        self._last_final: asyncio.Task[None] | None = None
        # The final's decode, started when the pause that became (or may become) its end began.
        self._early: asyncio.Task[list[ClipResult]] | None = None
        # A pause's early decode still running after speech resumed: the utterance is split at
        # that pause if it ends a sentence.
        self._split: asyncio.Task[list[ClipResult]] | None = None
        padding_ms = settings.stt_utterance_preroll_ms + vad.pad_ms
        self._fragment_samples = int(FRAGMENT_SPEECH_S * SAMPLE_RATE) + padding_ms * SAMPLE_RATE // 1000
        self._merge_samples = settings.stt_final_merge_ms * SAMPLE_RATE // 1000
        self._phrase_samples = settings.stt_phrase_hold_ms * SAMPLE_RATE // 1000
        self._end_on_punctuation = settings.stt_phrase_end_on_punctuation
        self._held_end: int | None = None  # an endpoint, waiting for its decode or its speaker to go on
        self._held_at = 0  # the sample where that wait began
        self._held_until = 0  # and where it ends

    def _ms(self, sample: int) -> int:
        return self._offset_ms + sample * 1000 // SAMPLE_RATE

    def _segment_id(self) -> str:
        return f"{self._id}-{self._utterance:05d}"

    def _slice(self, start: int, end: int) -> np.ndarray:
        return self._buffer[max(0, start - self._buffer_start) : max(0, end - self._buffer_start)].copy()

    async def feed(self, audio: np.ndarray) -> None:
        self._buffer = np.concatenate([self._buffer, audio])
        for kind, sample in self._endpointer.feed(audio):
            if kind == "start":
                if self._held_end is not None and not self._joins():
                    self._release_held()
                if self._held_end is None:
                    self._utterance_start = sample
                else:  # the held utterance's speaker went on: it is the start of this utterance
                    self._held_end = None
                    self._drop_early()
                    self._scheduler.metrics.merged_finals.inc()
                self._next_partial_at = sample + self._partial_every
            elif kind == "pause":
                self._decode_early(sample)
                if self._early and self._end_on_punctuation:
                    self._early.add_done_callback(functools.partial(self._pause_decoded, sample))
            elif kind == "resume":  # that pause was not the end, unless its decode says so
                if self._end_on_punctuation and self._early and not self._early.done() and self._split is None:
                    self._split, self._early = self._early, None
                else:
                    self._drop_early()
            else:
                self._drop_split()
                if self._merge_samples or self._phrase_samples:  # final when the decode says so
                    self._held_end, self._held_at = sample, self._endpointer.position
                    self._held_until = self._held_at + max(self._merge_samples, self._phrase_samples)
                    self._early = self._early or self._final_decode(sample)
                    self._early.add_done_callback(self._held_decoded)
                else:
                    self._finalize(sample)
        position = self._endpointer.position
        if self._held_end is not None and position >= self._held_until:
            self._release_held()
        # No partials during a pause: the early final is decoding that same audio.
        if self._endpointer.in_speech and not self._endpointer.paused and position >= self._next_partial_at:
            # A saturated service answers partials slowly: space them at least twice that far
            # apart, so they take at most half its time and finals keep up.
            self._next_partial_at = position + max(self._partial_every, int(2 * self._partial_seconds * SAMPLE_RATE))
            if self._partial_task is None or self._partial_task.done():
                self._partial_task = asyncio.create_task(self._partial(self._utterance, self._utterance_start, position))
        # Keep only what a future utterance (or the one in progress) can still need.
        utterance_open = self._endpointer.in_speech or self._held_end is not None
        keep_from = (self._utterance_start if utterance_open else position) - PREROLL
        if keep_from > self._buffer_start:
            self._buffer = self._buffer[keep_from - self._buffer_start :]
            self._buffer_start = keep_from

    def _wait(self, decode: asyncio.Task[list[ClipResult]]) -> int | None:
        """How much audio an utterance decoded as ``decode`` waits for more speech at its
        endpoint: a fragment the merge's, a clause the phrase's, a sentence none; None while
        the decode has no text."""
        if decode.cancelled() or decode.exception() is not None:
            return None
        (result,) = decode.result()
        segments = to_segments(result, 0, self._language.chinese_conversion, "")
        text = Transcription(result.language, 0, segments).text
        if words(text, result.language) < FRAGMENT_WORDS:
            return self._merge_samples
        return 0 if ends_sentence(text) else self._phrase_samples

    def _joins(self) -> bool:
        """Whether the held utterance continues with speech that starts now: its decode said to
        wait, or has not come back and the utterance is as short as a fragment."""
        assert self._held_end is not None
        wait = self._wait(self._early) if self._early and self._early.done() else None
        return wait > 0 if wait is not None else self._held_end - self._utterance_start < self._fragment_samples

    def _held_decoded(self, decode: asyncio.Task[list[ClipResult]]) -> None:
        wait = self._wait(decode) if decode is self._early and self._held_end is not None else None
        if wait is not None:
            self._held_until = self._held_at + wait
            if wait == 0:
                self._release_held()

    def _pause_decoded(self, end: int, decode: asyncio.Task[list[ClipResult]]) -> None:
        """A pause's early decode ends a sentence (and is no fragment): so does the utterance, at
        that pause, whether the pause goes on or speech has resumed since."""
        sentence = self._held_end is None and self._wait(decode) == 0
        if decode is self._early and self._endpointer.paused and sentence:
            self._endpointer.cut(end)
            self._finalize(end)
            self._scheduler.metrics.punctuated_finals.inc()
        elif decode is self._split:
            self._split = None
            if sentence and self._endpointer.in_speech:
                self._drop_early()  # a later pause's decode, from this utterance's start
                self._finalize(end, decode)
                self._utterance_start = self._endpointer.utterance_start = end
                self._scheduler.metrics.punctuated_finals.inc()
            else:
                self._scheduler.metrics.early_finals.labels("dropped").inc()

    async def _partial(self, utterance: int, start: int, end: int) -> None:
        clip = Clip(
            self._slice(start, end),
            language=self._language.code,
            word_timestamps=False,
            beam_size=1,
            short_window=self._short_window,
            to_end=False,
            vocabulary=self.vocabulary,
        )
        started = time.monotonic()
        try:
            (result,) = await self._scheduler.transcribe([clip], Priority.partial)
        except Overloaded:
            return  # partials are best effort; the final will come
        self._partial_seconds = time.monotonic() - started
        if utterance != self._utterance:
            return  # that utterance has ended; its final supersedes this
        text = "".join(s.text for s in to_segments(result, 0, self._language.chinese_conversion, "")).strip()
        if readable(text):
            await self._send(
                StreamPartial(
                    segment_id=self._segment_id(),
                    start_ms=self._ms(start),
                    end_ms=self._ms(end),
                    text=text,
                    language=result.language,
                )
            )

    def _final_decode(self, end: int) -> asyncio.Task[list[ClipResult]]:
        clip = Clip(
            self._slice(self._utterance_start, end),
            language=self._language.code,
            word_timestamps=True,
            short_window=self._short_window,
            vocabulary=self.vocabulary,
        )
        return asyncio.create_task(self._scheduler.transcribe([clip], Priority.final))

    def _decode_early(self, end: int) -> None:
        # Only on an idle service: under load an early decode that speech makes useless would
        # delay other streams' finals.
        if self._scheduler.depth == 0:
            self._early = self._final_decode(end)

    def _drop_split(self) -> None:
        if self._split:
            self._split.cancel()
            self._split = None
            self._scheduler.metrics.early_finals.labels("dropped").inc()

    def _drop_early(self) -> None:
        if self._early:
            self._early.cancel()
            self._early = None
            self._scheduler.metrics.early_finals.labels("dropped").inc()

    def _finalize(self, end: int, decode: asyncio.Task[list[ClipResult]] | None = None) -> None:
        # An early decode still here saw all the speech: it is dropped when speech resumes, and
        # only silence came between its pause and this end.
        if decode is not None:
            self._scheduler.metrics.early_finals.labels("used").inc()
        elif self._early:
            decode = self._early
            self._early = None
            self._scheduler.metrics.early_finals.labels("used").inc()
        else:
            decode = self._final_decode(end)
        segment_id, start = self._segment_id(), self._utterance_start
        self._utterance += 1
        previous = self._last_final
        self._last_final = asyncio.create_task(self._final(segment_id, start, end, decode, previous))

    async def _final(
        self,
        segment_id: str,
        start: int,
        end: int,
        decode: asyncio.Task[list[ClipResult]],
        previous: asyncio.Task[None] | None,
    ) -> None:
        (result,) = await decode
        if self._language.code is None:  # hold the stream to the first detected language
            self._language = LanguageRequest(result.language, self._language.chinese_conversion)
        segments = to_segments(result, self._ms(start), self._language.chinese_conversion, "")
        if previous is not None:
            await previous  # finals leave in utterance order
        await self._send(
            StreamFinal(
                segment_id=segment_id,
                start_ms=self._ms(start),
                end_ms=self._ms(end),
                text=Transcription(result.language, 0, segments).text,
                language=result.language,
                words=[w for s in segments for w in s.words],
            )
        )

    def _release_held(self) -> None:
        """No more speech came: the fragment is final as it is."""
        if self._held_end is not None:
            end, self._held_end = self._held_end, None
            self._finalize(end)

    def flush(self) -> None:
        self._release_held()
        for _kind, sample in self._endpointer.flush():
            self._finalize(sample)

    async def finish(self) -> None:
        self.flush()
        if self._partial_task:
            self._partial_task.cancel()
        if self._last_final:
            await self._last_final


def control_error(exc: ValidationError) -> str:
    """The sentence for a text frame that is no control: the vocabulary's own, where it is that."""
    for error in exc.errors():
        if error["type"] == "vocabulary":
            return str(error["msg"])
    return 'text frames must be JSON controls: {"type": "config", "vocabulary": [...]}, {"type": "flush"} or {"type": "end"}'


@router.websocket("/v1/stream")
async def stream(
    websocket: WebSocket, language: str | None = None, sample_rate: int = 16000, offset_ms: int = 0, stream_id: str | None = None
) -> None:
    app = websocket.app
    settings: STTSettings = app.state.settings
    # Accept first, so a refused client learns why from the close reason.
    await websocket.accept()
    if not hasattr(app.state, "scheduler"):
        await websocket.close(code=status.WS_1013_TRY_AGAIN_LATER, reason="model is loading")
        return
    try:
        verify_service_key(credential_from(websocket.headers), settings.service_keys)
        lang = parse_language(
            language or settings.stt_default_language or None,
            supported=app.state.engine.languages,
            default_script=settings.stt_chinese_script,
        )
        if not 8000 <= sample_rate <= 48000:
            raise ValueError(f"unsupported sample_rate {sample_rate}")
    except (UnsupportedLanguage, ValueError) as exc:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=str(exc)[:120])
        return
    except HTTPException as exc:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=str(exc.detail))
        return
    send_lock = asyncio.Lock()

    async def send(message: StreamEvent) -> None:
        async with send_lock:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.send_text(message.model_dump_json())

    session = StreamSession(
        app.state.scheduler, settings, lang, stream_id=stream_id or uuid.uuid4().hex[:8], offset_ms=offset_ms, send=send
    )
    await send(StreamReady(engine=app.state.engine.name, model=app.state.engine.model, sample_rate=sample_rate))
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes") is not None:
                try:
                    await session.feed(pcm16_to_float(message["bytes"], sample_rate))
                except AudioError as exc:
                    await send(StreamError(message=str(exc)))
                continue
            try:
                control = stream_control.validate_json(message.get("text") or "{}")
            except ValidationError as exc:
                await send(StreamError(message=control_error(exc)))
                continue
            if isinstance(control, StreamConfig):
                session.vocabulary = tuple(control.vocabulary)
            elif isinstance(control, Flush):
                session.flush()
            elif isinstance(control, Finish):
                await session.finish()
                await send(StreamEnd())
                await websocket.close()
                return
    except WebSocketDisconnect:
        pass
    await session.finish()
