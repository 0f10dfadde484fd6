"""Live transcription of one participant's audio track, composed of three parts: the track's
frames go to a ``Recorder`` (every frame, for the upload later) and to the Intrascribe STT
plugin's ``SpeechStream`` (the STT service's ``/v1/stream``); the stream's partials and finals
go to a ``CaptionPublisher`` (``lk.transcription`` in the room), and each non-empty final is
stored through the API exactly once. Both are redacted first as the session asks (partials also
hide a number or address not finished yet), so the original is neither shown nor kept.

If the STT service drops, the stream keeps the audio no final has covered (bounded) and sends it
again after reconnecting, so no final is lost; meanwhile the room is told captions are delayed.
Times are milliseconds on the session clock: the stream's offset is the session time of the
track's first frame, which is also where the recording starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from livekit import rtc
from livekit.agents import APIConnectOptions, stt
from livekit.agents.types import NOT_GIVEN
from livekit.agents.utils import is_given
from livekit.plugins import intrascribe

from agent_service.captions import CaptionPublisher, Speaker, to_ms
from agent_service.recorder import Recorder, RecordingSink
from shared.contracts.internal import SegmentIn, WordIn
from shared.redaction import Redactor, redact_segment, redactor_for

__all__ = ["FinalSink", "RecordingSink", "Speaker", "SpeakerOf", "TrackTranscriber", "stream_options"]

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
FRAME_MS = 20
MAX_BUFFER_S = 120  # audio kept while the STT service is unreachable
# After the track ends, how long its last finals may take (reconnecting included).
FINISH_TIMEOUT_S = 180

FinalSink = Callable[[SegmentIn], Awaitable[None]]
# For a shared room microphone: the speaker number of an utterance's 16 kHz int16 audio.
SpeakerOf = Callable[[bytes], Awaitable[int]]


def stream_options() -> APIConnectOptions:
    """Reconnect after the track ended for about two minutes (the plugin backs off to 10 s), so a
    restarting STT service still delivers the last finals."""
    return APIConnectOptions(max_retry=15, timeout=10)


def new_stt(stt_url: str, api_key: str | None) -> intrascribe.STT:
    """The plugin as the agent uses it: 16 kHz, the resend buffer above, and the audio of recent
    finals kept (longer than the service's longest utterance) for room-microphone speakers."""
    return intrascribe.STT(
        stt_url, caller="agent", api_key=api_key, sample_rate=SAMPLE_RATE, max_buffer_s=MAX_BUFFER_S, audio_history_s=60
    )


class TrackTranscriber:
    def __init__(
        self,
        room: rtc.Room,
        track: rtc.RemoteAudioTrack,
        speaker: Speaker,
        *,
        stt: intrascribe.STT,
        language: str | None,
        offset_ms: int,
        vocabulary: list[str] | None = None,
        redactor: Callable[[], Redactor] | None = None,
        on_final: FinalSink,
        on_delay: Callable[[bool], Awaitable[None]] | None = None,
        on_recording: RecordingSink | None = None,
        speaker_of: SpeakerOf | None = None,
        recording_dir: str | None = None,
    ) -> None:
        self._room = room
        self._track = track
        self._speaker = speaker
        self._stt = stt
        self._language = language
        self._vocabulary = vocabulary or []
        # The session's redactor at the time (its policy can change during the meeting).
        self._redactor = redactor or (lambda: redactor_for(None))
        self._offset_ms = offset_ms
        self._on_final = on_final
        self._on_delay = on_delay
        self._on_recording = on_recording
        self._speaker_of = speaker_of
        self._current = self._speaker_label(1) if speaker_of else speaker
        self._captions = CaptionPublisher(room, track.sid, speaker.identity)
        self._recording_dir = recording_dir
        self._stream: intrascribe.SpeechStream | None = None
        self._input_ended = False  # nothing more goes to the STT stream
        self._track_ended = asyncio.Event()  # the track ended or aclose() was called
        self._delay_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self.recording_path: str | None = None
        self.finals = 0
        self.partials = 0

    @property
    def dropped_ms(self) -> int:
        """Live audio the STT stream dropped for being too far behind (the recording has it)."""
        return self._stream.dropped_ms if self._stream else 0

    async def run(self) -> None:
        recorder = Recorder(self._recording_dir)
        self.recording_path = recorder.path
        stream = self._stt.stream(
            language=self._language or NOT_GIVEN, vocabulary=self._vocabulary, conn_options=stream_options()
        )
        stream.start_time_offset = self._offset_ms / 1000  # the session time of the first frame
        stream.on("delayed", lambda _error: self._announce_delay(True))
        stream.on("recovered", lambda: self._announce_delay(False))
        self._stream = stream
        reader = asyncio.create_task(self._read_track(stream, recorder))
        transcribing = asyncio.create_task(self._transcribe(stream))
        ended = asyncio.create_task(self._track_ended.wait())
        try:
            await asyncio.wait({transcribing, ended}, return_when=asyncio.FIRST_COMPLETED)
            if not transcribing.done():  # the track ended: its last finals follow
                await asyncio.wait({transcribing}, timeout=FINISH_TIMEOUT_S)
            if not transcribing.done():
                log.warning("STT stream for %s did not finish within %d s", self._speaker.identity, FINISH_TIMEOUT_S)
            elif (error := transcribing.exception()) is not None:
                log.error("STT stream for %s failed (%s); recording only", self._speaker.identity, error)
                await self._track_ended.wait()  # the recording goes on until the track ends
        finally:
            for task in (transcribing, ended, reader):
                task.cancel()
            await asyncio.gather(transcribing, ended, reader, return_exceptions=True)
            await stream.aclose()
            await asyncio.gather(*self._background, return_exceptions=True)
            log.info(
                "track %s done: %d finals, %d partials, %d ms dropped",
                self._track.sid,
                self.finals,
                self.partials,
                self.dropped_ms,
            )
            # Outside the (cancelled) reader, so the upload is not cut short.
            await recorder.hand_off(self._on_recording, self._offset_ms)

    async def aclose(self) -> None:
        """The track is going away: no more input; the last finals are still awaited by run()."""
        if self._stream is not None:
            self._end_input(self._stream)
        self._track_ended.set()

    def _end_input(self, stream: intrascribe.SpeechStream) -> None:
        if not self._input_ended:
            self._input_ended = True
            with contextlib.suppress(RuntimeError):  # the stream already ended (it failed)
                stream.end_input()

    async def _read_track(self, stream: intrascribe.SpeechStream, recorder: Recorder) -> None:
        """Frames go to the recording (all of them, silence included) and to the STT stream."""
        audio = rtc.AudioStream(self._track, sample_rate=SAMPLE_RATE, num_channels=1, frame_size_ms=FRAME_MS)
        try:
            async for event in audio:
                recorder.write(event.frame)
                if not self._input_ended:
                    try:
                        stream.push_frame(event.frame)
                    except RuntimeError:  # the stream failed: record on
                        self._input_ended = True
        finally:
            recorder.close()
            with contextlib.suppress(Exception):  # the track may already be gone
                await audio.aclose()
            self._end_input(stream)
            self._track_ended.set()

    async def _transcribe(self, stream: intrascribe.SpeechStream) -> None:
        try:
            async for event in stream:
                if event.type == stt.SpeechEventType.FINAL_TRANSCRIPT and event.alternatives:
                    await self._final(stream, event)
                elif event.type == stt.SpeechEventType.INTERIM_TRANSCRIPT and event.alternatives:
                    await self._captions.publish(
                        event, self._current, self._redactor().redact_partial(event.alternatives[0].text)
                    )
                    self.partials += 1
        finally:
            self._input_ended = True  # the stream is done: it takes no more input

    async def _final(self, stream: intrascribe.SpeechStream, event: stt.SpeechEvent) -> None:
        data = event.alternatives[0]
        text = data.text.strip()
        if self._speaker_of and text:
            audio = stream.audio(data.start_time, data.end_time)
            number = await self._speaker_of(bytes(audio.data))
            self._current = self._speaker_label(number)
        redactor = self._redactor()
        segment = redact_segment(redactor, self._segment(event.request_id, data, text))
        await self._captions.publish(event, self._current, redactor.redact(data.text))
        self.finals += 1
        if text:
            await self._on_final(segment)

    def _speaker_label(self, number: int) -> Speaker:
        return Speaker(f"{self._speaker.identity}:S{number}", f"{self._speaker.name} · Speaker {number}")

    def _segment(self, segment_id: str, data: stt.SpeechData, text: str) -> SegmentIn:
        return SegmentIn(
            segment_id=segment_id,
            speaker=self._current.identity,
            speaker_name=self._current.name,
            start_ms=to_ms(data.start_time),
            end_ms=to_ms(data.end_time),
            text=text,
            language=str(data.language) or None,
            words=[
                WordIn(
                    start_ms=to_ms(w.start_time),
                    end_ms=to_ms(w.end_time),
                    text=str(w),
                    prob=w.confidence if is_given(w.confidence) else None,
                )
                for w in data.words or []
                if is_given(w.start_time) and is_given(w.end_time)
            ],
        )

    def _announce_delay(self, delayed: bool) -> None:
        if self._on_delay is None:
            return
        log.info("captions for %s %s", self._speaker.identity, "delayed" if delayed else "flowing again")
        self._background.add(task := asyncio.create_task(self._send_delay(delayed)))
        task.add_done_callback(self._background.discard)

    async def _send_delay(self, delayed: bool) -> None:
        assert self._on_delay is not None
        async with self._delay_lock:  # in the order the stream reported them
            try:
                await self._on_delay(delayed)
            except Exception as exc:
                log.warning("could not announce captions_delayed=%s: %s", delayed, exc)
