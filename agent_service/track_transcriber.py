"""Live transcription of one participant's audio track: audio frames go to the STT service's
streaming endpoint; its partials and finals are published into the room on LiveKit's
``lk.transcription`` text streams (as LiveKit's own agents do, so any LiveKit front end shows
them), and each final is stored through the API exactly once.

If the STT service drops, audio is buffered (bounded) and sent again after reconnecting, so no
final is lost; the room is told captions are delayed."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from livekit import rtc
from livekit.agents.types import (
    ATTRIBUTE_TRANSCRIPTION_FINAL,
    ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID,
    ATTRIBUTE_TRANSCRIPTION_TRACK_ID,
    TOPIC_TRANSCRIPTION,
)

from shared.contracts.internal import SegmentIn, WordIn
from shared.contracts.stt import Finish, StreamEnd, StreamError, StreamFinal, StreamPartial, StreamReady, stream_event

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
FRAME_MS = 20
MAX_BUFFER_S = 120  # audio kept while the STT service is unreachable


@dataclass(frozen=True)
class Speaker:
    identity: str
    name: str


FinalSink = Callable[[SegmentIn], Awaitable[None]]
# Called with (path of the raw 16 kHz int16 recording, where it starts on the session clock).
RecordingSink = Callable[[str, int], Awaitable[None]]
# For a shared room microphone: the speaker number of an utterance's 16 kHz int16 audio.
SpeakerOf = Callable[[bytes], Awaitable[int]]


class TrackTranscriber:
    def __init__(
        self,
        room: rtc.Room,
        track: rtc.RemoteAudioTrack,
        speaker: Speaker,
        *,
        stt_url: str,
        stt_headers: dict[str, str],
        language: str | None,
        offset_ms: int,
        on_final: FinalSink,
        on_delay: Callable[[bool], Awaitable[None]] | None = None,
        on_recording: RecordingSink | None = None,
        speaker_of: SpeakerOf | None = None,
        recording_dir: str | None = None,
    ) -> None:
        self._room = room
        self._track = track
        self._speaker = speaker
        self._stt_url = stt_url.replace("http://", "ws://").replace("https://", "wss://") + "/v1/stream"
        self._headers = stt_headers
        self._language = language
        self._offset_ms = offset_ms
        self._on_final = on_final
        self._on_delay = on_delay
        self._on_recording = on_recording
        self._speaker_of = speaker_of
        self._current = self._speaker_label(1) if speaker_of else speaker
        # Audio not yet confirmed sent: (absolute ms from session start, pcm bytes).
        self._pending: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=MAX_BUFFER_S * 1000 // FRAME_MS)
        # Frames read from the track and not yet taken by the STT stream: bounded like the resend
        # buffer, so an STT outage cannot grow it without end (the recording keeps every frame).
        self._frames = asyncio.Queue[tuple[int, bytes] | None](maxsize=MAX_BUFFER_S * 1000 // FRAME_MS)
        self._recording_dir = recording_dir
        self.dropped_frames = 0
        self.recording_path: str | None = None
        self.finals = 0
        self.partials = 0

    async def run(self) -> None:
        reader = asyncio.create_task(self._read_track())
        try:
            await self._stream_with_retries()
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            log.info("track %s done: %d finals, %d partials", self._track.sid, self.finals, self.partials)
            # Outside the (cancelled) reader, so the upload is not cut short.
            if self.recording_path:
                if self._on_recording is not None:
                    await self._on_recording(self.recording_path, self._offset_ms)
                else:
                    os.unlink(self.recording_path)

    async def aclose(self) -> None:
        await self._frames.put(None)

    async def _read_track(self) -> None:
        """Frames go to the STT stream and, all of them (silence included), to a recording on
        disk, so playback and later re-diarization line up with the live timestamps."""
        position_ms = self._offset_ms
        stream = rtc.AudioStream(self._track, sample_rate=SAMPLE_RATE, num_channels=1, frame_size_ms=FRAME_MS)
        recording = tempfile.NamedTemporaryFile(  # noqa: SIM115 - handed on
            prefix="rec-", suffix=".part", dir=self._recording_dir, delete=False
        )
        try:
            async for event in stream:
                data = bytes(event.frame.data)
                recording.write(data)
                if self._frames.full():  # the STT stream is far behind: its oldest audio goes
                    self._frames.get_nowait()
                    self.dropped_frames += 1
                    if self.dropped_frames % (1000 // FRAME_MS) == 1:
                        log.warning(
                            "STT stream for %s is %d s behind; live audio dropped (kept in the recording)",
                            self._speaker.identity,
                            MAX_BUFFER_S,
                        )
                self._frames.put_nowait((position_ms, data))
                position_ms += len(data) * 1000 // (2 * SAMPLE_RATE)
        finally:
            recording.close()
            self.recording_path = recording.name
            with contextlib.suppress(Exception):  # the track may already be gone
                await stream.aclose()
            await self._frames.put(None)

    async def _stream_with_retries(self) -> None:
        attempt = 0
        finished = False
        while not finished:
            try:
                finished = await self._stream_once(attempt)
                attempt = 0
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                attempt += 1
                delay = min(10.0, 0.5 * 2 ** min(attempt, 5))
                log.warning(
                    "STT stream for %s failed (%s); %d s of audio buffered, retry in %.1fs",
                    self._speaker.identity,
                    exc,
                    len(self._pending) * FRAME_MS // 1000,
                    delay,
                )
                if self._on_delay:
                    await self._on_delay(True)
                await asyncio.sleep(delay)

    async def _stream_once(self, attempt: int) -> bool:
        """One WebSocket session; True when the track ended and every final arrived."""
        if not self._pending:  # the stream's offset is the time of its first audio
            first = await self._frames.get()
            if first is None:
                return True
            self._pending.append(first)
        params = {
            "sample_rate": str(SAMPLE_RATE),
            "offset_ms": str(self._pending[0][0]),
            "stream_id": f"{self._track.sid}-{int(time.time() * 1000) % 10**8:x}",
        }
        if self._language:
            params["language"] = self._language
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(self._stt_url, params=params, headers=self._headers, heartbeat=20) as ws,
        ):
            # A restarting service may accept and then close (1013: model loading): retry later.
            greeting = await ws.receive(timeout=10)
            ready = stream_event.validate_json(greeting.data) if greeting.type == aiohttp.WSMsgType.TEXT else None
            if not isinstance(ready, StreamReady):
                raise aiohttp.ClientError(
                    f"STT refused the stream: {greeting.type.name} {greeting.data!r} {greeting.extra or ''}"
                )
            if attempt and self._on_delay:
                await self._on_delay(False)
            receiver = asyncio.create_task(self._receive(ws))
            try:
                for _ms, data in list(self._pending):  # what an outage left unsent goes first
                    await ws.send_bytes(data)
                while (item := await self._frames.get()) is not None:
                    self._pending.append(item)
                    await ws.send_bytes(item[1])
                await ws.send_str(Finish().model_dump_json())
                await asyncio.wait_for(asyncio.shield(receiver), 120)
            finally:
                receiver.cancel()
        self._pending.clear()
        return True

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            event = stream_event.validate_json(message.data)
            if isinstance(event, StreamFinal):
                if self._speaker_of and event.text.strip():
                    number = await self._speaker_of(self._audio_between(event.start_ms, event.end_ms))
                    self._current = self._speaker_label(number)
                await self._publish(event)
                self.finals += 1
                self._release(event.end_ms)
                if event.text.strip():
                    await self._on_final(self._segment(event))
            elif isinstance(event, StreamPartial):
                await self._publish(event)
                self.partials += 1
            elif isinstance(event, StreamEnd):
                return
            elif isinstance(event, StreamError):
                log.warning("STT stream error for %s: %s", self._speaker.identity, event.message)

    def _speaker_label(self, number: int) -> Speaker:
        return Speaker(f"{self._speaker.identity}:S{number}", f"{self._speaker.name} · Speaker {number}")

    def _audio_between(self, start_ms: int, end_ms: int) -> bytes:
        """The utterance's audio, still held in the resend buffer until its final is handled."""
        return b"".join(data for ms, data in self._pending if start_ms <= ms < end_ms)

    def _release(self, end_ms: int) -> None:
        """Audio up to a final's end is done with: drop it from the retry buffer."""
        while self._pending and self._pending[0][0] + FRAME_MS <= end_ms:
            self._pending.popleft()

    def _segment(self, final: StreamFinal) -> SegmentIn:
        return SegmentIn(
            segment_id=final.segment_id,
            speaker=self._current.identity,
            start_ms=final.start_ms,
            end_ms=final.end_ms,
            text=final.text.strip(),
            language=final.language,
            words=[WordIn(start_ms=w.start_ms, end_ms=w.end_ms, text=w.text, prob=w.prob) for w in final.words],
        )

    async def _publish(self, event: StreamPartial | StreamFinal) -> None:
        attributes = {
            ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID: event.segment_id,
            ATTRIBUTE_TRANSCRIPTION_TRACK_ID: self._track.sid,
            ATTRIBUTE_TRANSCRIPTION_FINAL: "true" if isinstance(event, StreamFinal) else "false",
            "intrascribe.start_ms": str(event.start_ms),
            "intrascribe.end_ms": str(event.end_ms),
            "intrascribe.language": str(event.language or ""),
            "intrascribe.speaker": self._current.identity,
            "intrascribe.speaker_name": self._current.name,
        }
        try:
            writer = await self._room.local_participant.stream_text(
                topic=TOPIC_TRANSCRIPTION, sender_identity=self._speaker.identity, attributes=attributes
            )
            await writer.write(event.text)
            await writer.aclose()
        except Exception as exc:
            log.warning("could not publish a caption: %s", exc)
