"""The plugin without a network: the resend buffer, the mapping of the service's messages onto
SpeechEvents, and a stream whose WebSocket (an in-memory fake) drops and reconnects.

Run in the agent's environment: ``agent_service/.venv/bin/python -m pytest plugins/livekit-plugins-intrascribe/tests``."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import aiohttp
import numpy as np
import pytest
from livekit import rtc
from livekit.agents import APIStatusError, stt
from livekit.plugins import intrascribe
from livekit.plugins.intrascribe.stt import ResendBuffer, Transcripts, to_mono
from livekit.plugins.intrascribe.testing import FakeService, FakeSocket, until

from shared.contracts.stt import StreamEnd, StreamFinal, StreamPartial
from shared.contracts.transcript import Word

pytestmark = [pytest.mark.unit]

RATE = 16000
CHUNK = 640  # bytes in 20 ms of 16 kHz int16


def pcm(ms: int, value: int = 0) -> bytes:
    return np.full(RATE * ms // 1000, value, dtype=np.int16).tobytes()


# --- the resend buffer ------------------------------------------------------------------------


def test_buffer_cuts_20ms_chunks_and_keeps_the_remainder_for_later() -> None:
    buffer = ResendBuffer(RATE, 120_000)
    assert buffer.push(pcm(50)) == [pcm(20), pcm(20)]  # 10 ms wait for the rest of their chunk
    assert buffer.kept_ms == 40
    assert buffer.push(pcm(10)) == [pcm(20)]
    assert buffer.push(pcm(5)) == []
    assert buffer.flush() == [pcm(5)] and buffer.flush() == []
    assert (buffer.start_ms, buffer.kept_ms) == (0, 65)


def test_a_final_releases_only_the_chunks_it_covers() -> None:
    buffer = ResendBuffer(RATE, 120_000)
    for i in range(10):  # 200 ms, each chunk marked with its number
        buffer.push(pcm(20, i))
    assert buffer.release(99) == 80  # 0-80 ms; the chunk 80-100 ends after 99
    assert buffer.start_ms == 80 and buffer.chunks()[0] == pcm(20, 4)
    assert buffer.release(100) == 20 and buffer.start_ms == 100
    assert buffer.release(50) == 0  # an earlier final changes nothing
    assert buffer.release(10_000) == 100
    assert buffer.chunks() == [] and buffer.start_ms == 200  # a new connection starts where the audio does


def test_buffer_is_bounded_dropping_the_oldest() -> None:
    buffer = ResendBuffer(RATE, 1000)
    for i in range(60):  # 1.2 s into a 1 s buffer
        buffer.push(pcm(20, i))
    assert buffer.kept_ms == 1000 and buffer.dropped_ms == 200
    assert buffer.start_ms == 200 and buffer.chunks()[0] == pcm(20, 10)


def test_clock_is_exact_at_other_rates() -> None:
    buffer = ResendBuffer(8000, 120_000)
    assert buffer.push(np.zeros(8000, np.int16).tobytes()) == [bytes(320)] * 50
    assert buffer.release(500) == 500 and buffer.start_ms == 500


# --- the event mapping ------------------------------------------------------------------------


def types(events: list[stt.SpeechEvent]) -> list[stt.SpeechEventType]:
    return [e.type for e in events]


def test_an_utterance_maps_to_start_interims_final_end() -> None:
    transcripts = Transcripts(language=None)
    partial = StreamPartial(segment_id="s-1", start_ms=1000, end_ms=1500, text="hello", language="en")
    first = transcripts.events(partial, offset_s=2.0)
    assert types(first) == [stt.SpeechEventType.START_OF_SPEECH, stt.SpeechEventType.INTERIM_TRANSCRIPT]
    interim = first[1].alternatives[0]
    assert (interim.text, interim.language, interim.start_time, interim.end_time) == ("hello", "en", 3.0, 3.5)
    assert types(transcripts.events(partial, offset_s=2.0)) == [stt.SpeechEventType.INTERIM_TRANSCRIPT]
    final = StreamFinal(
        segment_id="s-1",
        start_ms=1000,
        end_ms=2200,
        text=" hello world ",
        language="en",
        words=[
            Word(start_ms=1000, end_ms=1400, text="hello", prob=0.9),
            Word(start_ms=1500, end_ms=2100, text="world", prob=0.7),
        ],
    )
    events = transcripts.events(final, offset_s=2.0, usage_s=1.2)
    assert types(events) == [
        stt.SpeechEventType.FINAL_TRANSCRIPT,
        stt.SpeechEventType.END_OF_SPEECH,
        stt.SpeechEventType.RECOGNITION_USAGE,
    ]
    data = events[0].alternatives[0]
    assert (data.text, data.start_time, data.end_time, events[0].request_id) == ("hello world", 3.0, 4.2, "s-1")
    assert data.confidence == pytest.approx(0.8)
    assert data.words is not None and [str(w) for w in data.words] == ["hello", "world"]
    assert [(w.start_time, w.end_time, w.confidence, w.start_time_offset) for w in data.words] == [
        (3.0, 3.4, 0.9, 2.0),
        (3.5, 4.1, 0.7, 2.0),
    ]
    usage = events[2].recognition_usage
    assert usage is not None and usage.audio_duration == 1.2
    assert not transcripts.speaking


def test_silence_and_empty_hypotheses_do_not_open_an_utterance() -> None:
    transcripts = Transcripts(language="de")
    assert transcripts.events(StreamPartial(segment_id="s", start_ms=0, end_ms=10, text="  "), offset_s=0) == []
    events = transcripts.events(StreamFinal(segment_id="s", start_ms=0, end_ms=900, text=""), offset_s=0)
    assert types(events) == [stt.SpeechEventType.FINAL_TRANSCRIPT]  # a flush still gets its (empty) final
    assert events[0].alternatives[0].language == "de"  # the configured language when the service names none


def test_final_without_partials_still_brackets_the_utterance() -> None:
    events = Transcripts(None).events(StreamFinal(segment_id="s", start_ms=0, end_ms=900, text="Yes."), offset_s=0)
    assert types(events)[:3] == [
        stt.SpeechEventType.START_OF_SPEECH,
        stt.SpeechEventType.FINAL_TRANSCRIPT,
        stt.SpeechEventType.END_OF_SPEECH,
    ]


def test_stereo_is_downmixed() -> None:
    stereo = np.array([[100, 300], [-50, -150]], dtype=np.int16)
    mono = to_mono(rtc.AudioFrame(stereo.tobytes(), 48000, 2, 2))
    assert (mono.num_channels, mono.sample_rate) == (1, 48000)
    assert np.frombuffer(mono.data, np.int16).tolist() == [200, -100]


# --- reconnecting, against an in-memory WebSocket ---------------------------------------------


def plugin_with(service: FakeService, **options: Any) -> intrascribe.STT:
    return intrascribe.STT("http://stt.test:8001/", http_session=cast(aiohttp.ClientSession, service), **options)


def frames(start: int, count: int) -> list[rtc.AudioFrame]:
    """``count`` 10 ms frames at 16 kHz, frame i filled with the value ``start + i``."""
    return [rtc.AudioFrame(pcm(10, start + i), RATE, 1, RATE // 100) for i in range(count)]


async def test_a_dropped_stream_resends_what_no_final_covered_from_its_offset() -> None:
    def finish(socket: FakeSocket) -> None:  # the service's last final, then its end
        socket.answer(StreamFinal(segment_id="b", start_ms=socket.offset_ms, end_ms=2500, text="second part"))
        socket.answer(StreamEnd())

    service = FakeService(on_end=finish)
    plugin = plugin_with(service, language="en", api_key="k3y")
    errors: list[stt.STTError] = []
    plugin.on("error", errors.append)
    stream = plugin.stream()
    stream.start_time_offset = 10.0
    events: list[stt.SpeechEvent] = []

    async def collect() -> None:
        async for event in stream:
            events.append(event)

    collector = asyncio.create_task(collect())
    for frame in frames(0, 200):  # 2 s
        stream.push_frame(frame)
    await until(lambda: len(service.sockets) == 1 and len(service.sockets[0].sent) == 100)
    first = service.sockets[0]
    assert service.urls[0] == "ws://stt.test:8001/v1/stream"
    assert first.headers == {"X-Service-Key": "agent:k3y"}
    assert (first.params["sample_rate"], first.params["language"], first.offset_ms) == ("16000", "en", 0)
    assert b"".join(first.sent) == b"".join(bytes(f.data) for f in frames(0, 200))
    first.answer(StreamFinal(segment_id="a", start_ms=200, end_ms=1000, text="first part"))
    await until(lambda: any(e.type == stt.SpeechEventType.FINAL_TRANSCRIPT for e in events))
    service.refuse = 1  # the service restarts: its first answer is "loading"
    first.close_with(1006)
    for frame in frames(200, 25):  # speech goes on during the outage
        stream.push_frame(frame)

    await until(lambda: len(service.sockets) == 3 and len(service.sockets[2].sent) >= 50)
    refused, second = service.sockets[1:]
    assert refused.sent == [] and refused.offset_ms == 1000
    assert second.offset_ms == 1000  # the first kept audio: right after the last final
    assert second.sent[:50] == first.sent[50:100]  # 1.0-2.0 s again, before anything new
    assert len({s.params["stream_id"] for s in service.sockets}) == 3
    for frame in frames(225, 25):
        stream.push_frame(frame)
    stream.end_input()
    await asyncio.wait_for(collector, 5)

    assert len(second.sent) == 75 and b"".join(second.sent[50:]) == b"".join(bytes(f.data) for f in frames(200, 50))
    assert second.controls == ["flush", "end"] and first.controls == []
    finals = [e.alternatives[0] for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT]
    assert [f.text for f in finals] == ["first part", "second part"]
    # On the session clock (the stream's start_time_offset, which the base class nudges by microseconds).
    expected = [(10.2, 11.0), (11.0, 12.5)]
    assert [(f.start_time, f.end_time) for f in finals] == [pytest.approx(times, abs=1e-3) for times in expected]
    usage = [e.recognition_usage.audio_duration for e in events if e.recognition_usage]
    assert usage == [1.0, 1.5]  # every second of audio billed once, the resent one included once
    assert [e.recoverable for e in errors] == [True, True]  # the drop and the refusal: reported, not fatal
    await stream.aclose()


async def test_a_vocabulary_goes_first_on_every_connection() -> None:
    """The stream's vocabulary (the plugin's, or the one the stream was opened with) is the first
    thing each connection sends, before the audio sent again after a drop; none, no config."""
    service = FakeService()
    plugin = plugin_with(service, vocabulary=["Okonkwo", " okonkwo", "Zorblax"])
    stream = plugin.stream()
    for frame in frames(0, 20):
        stream.push_frame(frame)
    await until(lambda: len(service.sockets) == 1 and len(service.sockets[0].sent) == 10)
    service.sockets[0].close_with(1006)
    await until(lambda: len(service.sockets) == 2 and len(service.sockets[1].sent) == 10)
    assert [s.configs for s in service.sockets] == [[(0, ["Okonkwo", "Zorblax"])]] * 2
    await stream.aclose()

    own = plugin.stream(vocabulary=["Vantrix"])
    own.push_frame(frames(0, 2)[0])
    await until(lambda: len(service.sockets) == 3)
    await until(lambda: bool(service.sockets[2].configs))
    assert service.sockets[2].configs == [(0, ["Vantrix"])]
    await own.aclose()
    plugin.update_options(vocabulary=[])
    none = plugin.stream()
    for frame in frames(0, 4):
        none.push_frame(frame)
    await until(lambda: len(service.sockets) == 4 and len(service.sockets[3].sent) == 2)
    assert service.sockets[3].configs == []
    await none.aclose()
    with pytest.raises(ValueError, match="has no letters or digits"):
        plugin.stream(vocabulary=["!!!"])


async def test_bad_credentials_end_the_stream_without_retrying() -> None:
    service = FakeService()
    service.refuse, service.refusal = 5, (1008, "invalid service credentials")  # a retry would be refused again
    stream = plugin_with(service).stream()
    stream.push_frame(frames(0, 1)[0])
    with pytest.raises(APIStatusError, match="invalid service credentials"):
        async for _event in stream:
            pass
    assert len(service.sockets) == 1
    await stream.aclose()


async def test_input_at_48khz_stereo_reaches_the_service_as_16khz_mono_chunks() -> None:
    service = FakeService()
    stream = plugin_with(service).stream()
    tone = (np.sin(np.arange(48000) * 2 * np.pi * 440 / 48000) * 8000).astype(np.int16)
    stereo = np.repeat(tone[:, None], 2, axis=1)
    for i in range(0, 48000, 480):
        stream.push_frame(rtc.AudioFrame(stereo[i : i + 480].tobytes(), 48000, 2, 480))
    await until(lambda: bool(service.sockets) and len(service.sockets[0].sent) >= 45)
    sent = service.sockets[0].sent
    assert {len(chunk) for chunk in sent} == {CHUNK}
    received = np.frombuffer(b"".join(sent), np.int16).astype(np.float32)
    spectrum = np.abs(np.fft.rfft(received[1600:]))  # past the resampler's start
    assert abs(float(np.argmax(spectrum)) * RATE / (received.size - 1600) - 440) < 5  # still a 440 Hz tone
    await stream.aclose()


# --- what a stream tells its user: delays, recent audio, a service far behind ------------------


def test_released_audio_stays_readable_for_the_history() -> None:
    buffer = ResendBuffer(RATE, 120_000, history_ms=100)
    for i in range(10):  # 200 ms, each chunk marked with its number
        buffer.push(pcm(20, i))
    assert buffer.audio(40, 100) == b"".join(pcm(20, i) for i in (2, 3, 4))  # chunks starting in [40, 100)
    buffer.release(160)  # 0-160 ms released; the history keeps the last 100 ms of it
    assert buffer.audio(0, 200) == b"".join(pcm(20, i) for i in range(3, 10))
    assert buffer.audio(60, 100) == pcm(20, 3) + pcm(20, 4)
    assert ResendBuffer(RATE, 120_000).audio(0, 100) == b""  # no history by default, nothing kept


def test_skipped_audio_moves_the_clock_on() -> None:
    buffer = ResendBuffer(RATE, 120_000)
    buffer.push(pcm(30))
    buffer.skip(RATE)  # a second never sent
    assert buffer.dropped_ms == 1000 and buffer.start_ms == 0 and buffer.kept_ms == 1030
    assert buffer.push(pcm(20)) == [pcm(20)]
    assert buffer.release(1030) == 30 and buffer.start_ms == 1030


async def test_a_stream_reports_delay_and_recovery_and_hands_back_a_finals_audio() -> None:
    service = FakeService(on_end=lambda socket: socket.answer(StreamEnd()))
    stream = plugin_with(service, audio_history_s=5).stream()
    stream.start_time_offset = 10.0
    reported: list[str] = []
    stream.on("delayed", lambda error: reported.append(f"delayed: {type(error).__name__}"))
    stream.on("recovered", lambda: reported.append("recovered"))
    events: list[stt.SpeechEvent] = []

    async def collect() -> None:
        async for event in stream:
            events.append(event)

    collector = asyncio.create_task(collect())
    for frame in frames(0, 100):  # 1 s
        stream.push_frame(frame)
    await until(lambda: len(service.sockets) == 1 and len(service.sockets[0].sent) == 50)
    assert not stream.delayed and reported == []
    service.sockets[0].answer(StreamFinal(segment_id="a", start_ms=200, end_ms=600, text="hello"))
    await until(lambda: any(e.type == stt.SpeechEventType.FINAL_TRANSCRIPT for e in events))
    final = next(e for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT).alternatives[0]
    audio = stream.audio(final.start_time, final.end_time)  # released by the final, kept in the history
    assert (audio.sample_rate, audio.num_channels) == (RATE, 1)
    assert bytes(audio.data) == b"".join(bytes(f.data) for f in frames(20, 40))
    service.refuse = 2
    service.sockets[0].close_with(1006)
    await until(lambda: len(service.sockets) == 4)
    await until(lambda: not stream.delayed)
    assert reported == ["delayed: APIConnectionError", "recovered"]  # once each, however many attempts
    stream.end_input()
    await asyncio.wait_for(collector, 5)
    await stream.aclose()


async def test_input_waiting_beyond_the_buffer_is_dropped_oldest_first_keeping_the_clock() -> None:
    gate = asyncio.Event()
    service = FakeService()
    service.gate = gate  # the service is slow to answer: input piles up
    stream = plugin_with(service, max_buffer_s=1.0).stream()
    for frame in frames(0, 150):  # 1.5 s into a 1 s bound
        stream.push_frame(frame)
    assert stream.dropped_ms == 500
    gate.set()
    await until(lambda: bool(service.sockets) and len(service.sockets[0].sent) == 50)
    socket = service.sockets[0]
    assert socket.offset_ms == 500  # where the audio it gets starts
    assert b"".join(socket.sent) == b"".join(bytes(f.data) for f in frames(50, 100))
    await stream.aclose()
