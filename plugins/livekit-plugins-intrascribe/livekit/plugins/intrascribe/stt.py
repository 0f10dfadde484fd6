"""The Intrascribe STT service as a LiveKit Agents ``stt.STT``.

Streaming uses the service's ``/v1/stream`` WebSocket, single clips ``POST /transcribe``; the
messages are ``shared.contracts.stt``. If the WebSocket drops, the audio no final has covered yet
is kept (bounded) and sent again on the next connection, with ``offset_ms`` set to where that
audio starts, so no final is lost and times stay on one clock.

A stream also says when its transcripts are held up (``"delayed"``/``"recovered"`` events), and
can hand back the audio of a recent final (``SpeechStream.audio``), e.g. to tell the speakers of a
shared microphone apart."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from dataclasses import dataclass
from typing import Literal

import aiohttp
import numpy as np
from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
    stt,
    utils,
)
from livekit.agents.language import LanguageCode
from livekit.agents.stt import RecognizeStream
from livekit.agents.types import NOT_GIVEN, NotGivenOr, TimedString
from livekit.agents.utils import AudioBuffer, is_given
from pydantic import ValidationError

from shared.contracts.stt import (
    Finish,
    Flush,
    StreamConfig,
    StreamEnd,
    StreamError,
    StreamFinal,
    StreamPartial,
    StreamReady,
    TranscribeResponse,
    stream_event,
)
from shared.contracts.transcript import Word
from shared.service_auth import service_header

from .log import logger

CHUNK_MS = 20  # the resend buffer's unit: audio is sent (and released) in chunks this long
MAX_BACKOFF_S = 10.0
WS_POLICY_VIOLATION = 1008  # bad credentials, language or sample rate: retrying cannot help


@dataclass
class _Options:
    base_url: str
    language: str | None
    sample_rate: int
    headers: dict[str, str]
    max_buffer_s: float
    audio_history_s: float
    vocabulary: tuple[str, ...] = ()


class STT(stt.STT):
    def __init__(
        self,
        base_url: str,
        *,
        language: str | None = None,
        api_key: str | None = None,
        caller: str = "agent",
        sample_rate: int = 16000,
        max_buffer_s: float = 120.0,
        audio_history_s: float = 0.0,
        vocabulary: list[str] | None = None,
        http_session: aiohttp.ClientSession | None = None,
    ) -> None:
        """``base_url``: the STT service, e.g. ``http://stt:8001``. ``language``: a language tag,
        or None to let the service detect it (and hold each stream to the first one found).
        ``caller``/``api_key``: the service credential (``X-Service-Key: caller:api_key``), as
        listed in the service's ``SERVICE_KEYS``. ``sample_rate``: the rate audio is sent at
        (input is resampled to it). ``max_buffer_s``: the most audio kept for resending while the
        service is unreachable (and the most input waiting to be sent while the service is
        behind). ``audio_history_s``: how long a stream keeps the audio finals have covered, for
        ``SpeechStream.audio()``. ``vocabulary``: names and terms (people, products, jargon) to
        bias recognition toward, the most important first; checked here, so a list the service
        would refuse raises ValueError at once. ``http_session``: defaults to the job's, else one
        of its own."""
        super().__init__(
            capabilities=stt.STTCapabilities(streaming=True, interim_results=True, aligned_transcript="word", manual_flush=True)
        )
        self._opts = _Options(
            base_url=base_url.rstrip("/"),
            language=language,
            sample_rate=sample_rate,
            headers=service_header(caller, {caller: api_key} if api_key else {}),
            max_buffer_s=max_buffer_s,
            audio_history_s=audio_history_s,
            vocabulary=_terms(vocabulary),
        )
        self._session = http_session
        self._owns_session = False

    @property
    def model(self) -> str:
        return "intrascribe"

    @property
    def provider(self) -> str:
        return "intrascribe"

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            try:
                self._session = utils.http_context.http_session()
            except RuntimeError:  # outside a job (tests, scripts): a session of our own
                self._session = aiohttp.ClientSession()
                self._owns_session = True
        return self._session

    async def aclose(self) -> None:
        """Close the HTTP session if this STT created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None
            self._owns_session = False

    def update_options(self, *, vocabulary: NotGivenOr[list[str]] = NOT_GIVEN) -> None:
        """The vocabulary of streams (and recognitions) started from now on."""
        if is_given(vocabulary):
            self._opts.vocabulary = _terms(vocabulary)

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        vocabulary: NotGivenOr[list[str]] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> SpeechStream:
        """A stream in ``language`` (the STT's when not given) biased toward ``vocabulary`` (the
        STT's when not given; an empty list for none)."""
        opts = dataclasses.replace(
            self._opts,
            language=language if is_given(language) else self._opts.language,
            vocabulary=_terms(vocabulary) if is_given(vocabulary) else self._opts.vocabulary,
        )
        return SpeechStream(stt=self, opts=opts, conn_options=conn_options)

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        """One ``POST /transcribe`` of the whole buffer (the service downmixes and resamples)."""
        frame = rtc.combine_audio_frames(buffer)
        lang = language if is_given(language) else self._opts.language
        headers = {
            **self._opts.headers,
            "Content-Type": "application/octet-stream",
            "X-Sample-Rate": str(frame.sample_rate),
            "X-Channels": str(frame.num_channels),
        }
        # The service may take up to the audio's own length on a slow CPU, after connecting.
        timeout = aiohttp.ClientTimeout(total=conn_options.timeout + frame.duration, sock_connect=conn_options.timeout)
        params = [("language", lang)] if lang else []
        params += [("vocabulary", term) for term in self._opts.vocabulary]
        try:
            async with self._ensure_session().post(
                f"{self._opts.base_url}/transcribe",
                params=params,
                data=bytes(frame.data),
                headers=headers,
                timeout=timeout,
            ) as response:
                body = await response.text()
                if response.status != 200:
                    raise APIStatusError(
                        f"STT service answered {response.status}: {body[:200]}",
                        status_code=response.status,
                        body=body,
                        retryable=response.status in (429, 502, 503, 504),
                    )
        except TimeoutError as exc:
            raise APITimeoutError("STT service timed out") from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(f"could not reach the STT service: {exc}") from exc
        result = TranscribeResponse.model_validate_json(body)
        segments = result.segments
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=result.session_id or "",
            alternatives=[
                speech_data(
                    result.text,
                    result.language or lang,
                    segments[0].start_ms if segments else 0,
                    segments[-1].end_ms if segments else result.duration_ms,
                    result.words(),
                    offset_s=0.0,
                )
            ],
        )


def _terms(vocabulary: list[str] | None) -> tuple[str, ...]:
    """The list as the service will use it (blank terms and repeats left out), or ValueError
    with the service's own sentence."""
    return tuple(StreamConfig(vocabulary=vocabulary or []).vocabulary)


def speech_data(
    text: str, language: str | None, start_ms: int, end_ms: int, words: list[Word], *, offset_s: float
) -> stt.SpeechData:
    """A SpeechData from the service's times (ms on the stream clock) shifted by ``offset_s``."""
    probs = [w.prob for w in words if w.prob is not None]
    return stt.SpeechData(
        language=LanguageCode(language or ""),
        text=text,
        start_time=start_ms / 1000 + offset_s,
        end_time=end_ms / 1000 + offset_s,
        confidence=sum(probs) / len(probs) if probs else 1.0,
        words=[
            TimedString(
                w.text,
                start_time=w.start_ms / 1000 + offset_s,
                end_time=w.end_ms / 1000 + offset_s,
                confidence=w.prob if w.prob is not None else NOT_GIVEN,
                start_time_offset=offset_s,
            )
            for w in words
        ],
    )


class Transcripts:
    """Maps the service's partials and finals onto SpeechEvents: START_OF_SPEECH before an
    utterance's first transcript, END_OF_SPEECH after its final."""

    def __init__(self, language: str | None) -> None:
        self._language = language
        self.speaking = False

    def events(self, event: StreamPartial | StreamFinal, *, offset_s: float, usage_s: float = 0.0) -> list[stt.SpeechEvent]:
        """``offset_s``: the stream's start on the session clock; ``usage_s``: audio this final covers."""
        events: list[stt.SpeechEvent] = []
        has_text = bool(event.text.strip())
        if has_text and not self.speaking:
            self.speaking = True
            events.append(stt.SpeechEvent(type=stt.SpeechEventType.START_OF_SPEECH, request_id=event.segment_id))
        language = event.language or self._language
        if isinstance(event, StreamPartial):
            if has_text:
                data = speech_data(event.text, language, event.start_ms, event.end_ms, [], offset_s=offset_s)
                events.append(stt.SpeechEvent(stt.SpeechEventType.INTERIM_TRANSCRIPT, event.segment_id, [data]))
            return events
        data = speech_data(event.text.strip(), language, event.start_ms, event.end_ms, event.words, offset_s=offset_s)
        events.append(stt.SpeechEvent(stt.SpeechEventType.FINAL_TRANSCRIPT, event.segment_id, [data]))
        if self.speaking:
            self.speaking = False
            events.append(stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH, request_id=event.segment_id))
        if usage_s > 0:
            usage = stt.RecognitionUsage(audio_duration=usage_s)
            events.append(stt.SpeechEvent(stt.SpeechEventType.RECOGNITION_USAGE, event.segment_id, recognition_usage=usage))
        return events


class ResendBuffer:
    """The stream's audio that no final has covered yet, as ``CHUNK_MS`` chunks of int16 mono PCM
    on the stream clock (ms from the stream's first sample). Bounded: beyond ``max_ms`` the oldest
    chunks are dropped (and counted in ``dropped_ms``). Released chunks stay readable by
    ``audio()`` for another ``history_ms``."""

    def __init__(self, sample_rate: int, max_ms: int, history_ms: int = 0) -> None:
        self._rate = sample_rate
        self._chunk_bytes = 2 * sample_rate * CHUNK_MS // 1000
        self._max_chunks = max(1, max_ms // CHUNK_MS)
        self._chunks: collections.deque[tuple[int, bytes]] = collections.deque()  # (start sample, pcm)
        self._partial = b""  # the start of the next chunk
        self._samples = 0  # samples in complete chunks so far
        self._history: collections.deque[tuple[int, bytes]] = collections.deque()  # released chunks
        self._history_samples = 0
        self._max_history_samples = history_ms * sample_rate // 1000
        self.dropped_ms = 0

    def _ms(self, sample: int) -> int:
        return sample * 1000 // self._rate

    @property
    def start_ms(self) -> int:
        """Where the kept audio starts: the ``offset_ms`` of a new connection."""
        return self._ms(self._chunks[0][0]) if self._chunks else self._ms(self._samples)

    @property
    def kept_ms(self) -> int:
        return self._ms(self._samples) - self.start_ms

    def chunks(self) -> list[bytes]:
        """Every kept chunk, oldest first: what a new connection sends before anything else."""
        return [pcm for _start, pcm in self._chunks]

    def push(self, pcm: bytes) -> list[bytes]:
        """Add audio; returns the chunks it completed (now kept), to send."""
        data = self._partial + pcm
        cut = len(data) - len(data) % self._chunk_bytes
        self._partial = data[cut:]
        return [self._keep(data[i : i + self._chunk_bytes]) for i in range(0, cut, self._chunk_bytes)]

    def flush(self) -> list[bytes]:
        """The incomplete last chunk, if any, as a kept chunk of its own (at an utterance's end)."""
        data, self._partial = self._partial, b""
        return [self._keep(data)] if data else []

    def _keep(self, chunk: bytes) -> bytes:
        self._chunks.append((self._samples, chunk))
        self._samples += len(chunk) // 2
        while len(self._chunks) > self._max_chunks:
            start, dropped = self._chunks.popleft()
            self.dropped_ms += self._ms(start + len(dropped) // 2) - self._ms(start)
        return chunk

    def release(self, end_ms: int) -> int:
        """A final reached ``end_ms``: drop the chunks that end by then; returns the ms dropped."""
        released = 0
        while self._chunks:
            start, chunk = self._chunks[0]
            end = self._ms(start + len(chunk) // 2)
            if end > end_ms:
                break
            self._chunks.popleft()
            released += end - self._ms(start)
            self._remember(start, chunk)
        return released

    def _remember(self, start: int, chunk: bytes) -> None:
        if not self._max_history_samples:
            return
        self._history.append((start, chunk))
        self._history_samples += len(chunk) // 2
        while self._history_samples > self._max_history_samples:
            _start, old = self._history.popleft()
            self._history_samples -= len(old) // 2

    def skip(self, samples: int) -> None:
        """Audio that never reached the buffer (dropped before it was sent): the clock moves on
        by ``samples`` so later audio keeps its true time. The incomplete chunk before it is kept."""
        self.flush()
        self._samples += samples
        self.dropped_ms += self._ms(samples)

    def audio(self, start_ms: int, end_ms: int) -> bytes:
        """The audio of the chunks that start in ``[start_ms, end_ms)``, released (within the
        history) or still kept."""
        return b"".join(chunk for start, chunk in (*self._history, *self._chunks) if start_ms <= self._ms(start) < end_ms)


def to_mono(frame: rtc.AudioFrame) -> rtc.AudioFrame:
    if frame.num_channels == 1:
        return frame
    pcm = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
    mono = pcm.mean(axis=1).astype(np.int16)
    return rtc.AudioFrame(mono.tobytes(), frame.sample_rate, 1, frame.samples_per_channel)


StreamEvents = Literal["delayed", "recovered"]


class SpeechStream(RecognizeStream, rtc.EventEmitter[StreamEvents]):
    """One ``/v1/stream`` session, reconnected (with backoff) whenever it drops; the audio no
    final has covered is sent again first. Reconnects without limit while input is open (the
    buffer is bounded); after ``end_input()``, at most ``conn_options.max_retry`` times.

    Events (``stream.on(...)``): ``"delayed"`` (with the error) when the connection is lost, so
    transcripts are held up until it is back; ``"recovered"`` when a new connection is ready
    (the held-back audio is being transcribed again)."""

    def __init__(self, *, stt: STT, opts: _Options, conn_options: APIConnectOptions) -> None:
        rtc.EventEmitter.__init__(self)
        RecognizeStream.__init__(self, stt=stt, conn_options=conn_options, sample_rate=opts.sample_rate)
        self._client = stt
        self._opts = opts
        self._buffer = ResendBuffer(opts.sample_rate, int(opts.max_buffer_s * 1000), int(opts.audio_history_s * 1000))
        self._transcripts = Transcripts(opts.language)
        self._stream_id = utils.shortuuid()
        self._connections = 0
        self._readies = 0
        self._input_ended = False
        self._delayed = False

    @property
    def delayed(self) -> bool:
        """True from a lost connection until the next one is ready."""
        return self._delayed

    @property
    def dropped_ms(self) -> int:
        """Audio dropped (never transcribed) because more than ``max_buffer_s`` waited."""
        return self._buffer.dropped_ms

    def audio(self, start_time: float, end_time: float) -> rtc.AudioFrame:
        """The audio sent between two times on the session clock (as in ``SpeechData``): the
        chunks that start in ``[start_time, end_time)``, as int16 mono at the stream's rate.
        A final's audio stays available for ``audio_history_s`` after it arrived, and audio no
        final has covered yet until one does."""
        offset = self.start_time_offset
        pcm = self._buffer.audio(round((start_time - offset) * 1000), round((end_time - offset) * 1000))
        return rtc.AudioFrame(pcm, self._opts.sample_rate, 1, len(pcm) // 2)

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        """Push audio (any rate and channel count: downmixed here, resampled by the base class).
        Never blocks: if the service falls more than ``max_buffer_s`` behind, the oldest input
        is dropped (its time still passes on the stream clock)."""
        super().push_frame(to_mono(frame))
        limit_frames = self._opts.max_buffer_s * frame.sample_rate / max(1, frame.samples_per_channel)
        while self._input_ch.qsize() > max(1.0, limit_frames):
            item = self._input_ch.recv_nowait()
            if isinstance(item, rtc.AudioFrame):
                before = self._buffer.dropped_ms
                self._buffer.skip(item.samples_per_channel * self._opts.sample_rate // item.sample_rate)
                if before // 1000 != self._buffer.dropped_ms // 1000:
                    logger.warning(
                        "STT stream is %.0f s behind: dropping its oldest input (%d ms so far)",
                        self._opts.max_buffer_s,
                        self._buffer.dropped_ms,
                    )

    async def _run(self) -> None:
        failures = 0
        while True:
            readies = self._readies
            try:
                await self._stream_once()
                return
            except APIError as exc:
                failures = 1 if self._readies > readies else failures + 1
                if not exc.retryable:
                    raise
                if self._input_ended and failures > self._conn_options.max_retry:
                    raise APIConnectionError(f"STT stream failed {failures} times after input ended", retryable=False) from exc
                delay = min(MAX_BACKOFF_S, 0.25 * 2**failures)
                logger.warning(
                    "STT stream dropped (%s); %d ms of audio kept, reconnecting in %.1fs", exc, self._buffer.kept_ms, delay
                )
                self._emit_error(exc, recoverable=True)
                if not self._delayed:
                    self._delayed = True
                    self.emit("delayed", exc)
                await self._keep_input_for(delay)

    async def _keep_input_for(self, seconds: float) -> None:
        """Wait, moving the audio that arrives meanwhile into the resend buffer. (Flushes in that
        time are dropped: the service endpoints the resent audio on its own.)"""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            while not self._input_ch.empty():
                item = self._input_ch.recv_nowait()
                if isinstance(item, rtc.AudioFrame):
                    self._buffer.push(bytes(item.data))
            if self._input_ch.closed and not self._input_ended:
                self._input_ended = True
                self._buffer.flush()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await asyncio.sleep(min(0.1, remaining))

    async def _stream_once(self) -> None:
        """One connection: resend the kept audio, stream the input, return at the service's ``end``."""
        try:
            ws = await self._connect()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise APIConnectionError(f"could not reach the STT service: {exc!r}") from exc
        sender = asyncio.create_task(self._send(ws))
        receiver = asyncio.create_task(self._receive(ws))
        try:
            pending: set[asyncio.Task[None]] = {sender, receiver}
            while receiver in pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise APIConnectionError(f"STT stream failed: {exc!r}") from exc
        finally:
            await utils.aio.cancel_and_wait(sender, receiver)
            await ws.close()

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        self._connections += 1
        params = {
            "sample_rate": str(self._opts.sample_rate),
            "offset_ms": str(self._buffer.start_ms),
            "stream_id": f"{self._stream_id}-{self._connections}",
        }
        if self._opts.language:
            params["language"] = self._opts.language
        url = self._opts.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/v1/stream"
        timeout = self._conn_options.timeout
        ws = await asyncio.wait_for(
            self._client._ensure_session().ws_connect(url, params=params, headers=self._opts.headers, heartbeat=20), timeout
        )
        try:
            greeting = await ws.receive(timeout=timeout)
            if greeting.type == aiohttp.WSMsgType.TEXT and isinstance(stream_event.validate_json(greeting.data), StreamReady):
                self._readies += 1
                if self._delayed:
                    self._delayed = False
                    self.emit("recovered")
                return ws
        except BaseException:
            await ws.close()
            raise
        await ws.close()
        # A service still loading its model closes with 1013 (try again later) before `ready`.
        code = ws.close_code or -1
        raise APIStatusError(
            f"STT service refused the stream: {greeting.type.name} {greeting.data!r} {greeting.extra or ''}",
            status_code=code,
            retryable=code != WS_POLICY_VIOLATION,
        )

    async def _send(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        if self._opts.vocabulary:  # before any audio, on every connection
            await ws.send_str(StreamConfig(vocabulary=list(self._opts.vocabulary)).model_dump_json())
        for chunk in self._buffer.chunks():  # what the last connection left unconfirmed goes first
            await ws.send_bytes(chunk)
        if not self._input_ended:
            async for item in self._input_ch:
                if isinstance(item, rtc.AudioFrame):
                    for chunk in self._buffer.push(bytes(item.data)):
                        await ws.send_bytes(chunk)
                else:
                    for chunk in self._buffer.flush():
                        await ws.send_bytes(chunk)
                    await ws.send_str(Flush().model_dump_json())
            self._input_ended = True
            for chunk in self._buffer.flush():
                await ws.send_bytes(chunk)
        await ws.send_str(Finish().model_dump_json())

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            message = await ws.receive()
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                raise APIConnectionError(f"STT stream closed before its end (code {ws.close_code})")
            if message.type == aiohttp.WSMsgType.ERROR:
                raise APIConnectionError(f"STT stream failed: {ws.exception()!r}")
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                event = stream_event.validate_json(message.data)
            except ValidationError:
                logger.warning("unexpected STT stream message: %.200s", message.data)
                continue
            if isinstance(event, StreamEnd):
                return
            if isinstance(event, StreamError):
                logger.warning("STT stream error: %s", event.message)
            elif isinstance(event, StreamPartial | StreamFinal):
                usage_ms = self._buffer.release(event.end_ms) if isinstance(event, StreamFinal) else 0
                for speech_event in self._transcripts.events(event, offset_s=self.start_time_offset, usage_s=usage_ms / 1000):
                    self._event_ch.send_nowait(speech_event)
