"""TrackTranscriber as the composition of the plugin's SpeechStream, the caption publisher and the
recorder, without a network: the track, the room and the STT service's WebSocket are in-memory
fakes. One device track ("room microphone"): captions carry the session clock and the speaker,
the final's audio goes to speaker attribution, an STT drop is announced and recovered from with
the unconfirmed audio resent, and every frame is recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import numpy as np
import pytest
from livekit import rtc
from livekit.plugins import intrascribe
from livekit.plugins.intrascribe.testing import FakeService, FakeSocket, until

from agent_service import track_transcriber
from agent_service.track_transcriber import Speaker, TrackTranscriber
from shared.contracts.internal import SegmentIn
from shared.contracts.redaction import RedactionPolicy
from shared.contracts.stt import StreamEnd, StreamFinal, StreamPartial
from shared.contracts.transcript import Word
from shared.redaction import redactor_for

pytestmark = [pytest.mark.unit]

RATE = 16000


def frame(value: int) -> rtc.AudioFrame:
    """20 ms at 16 kHz, every sample ``value``."""
    return rtc.AudioFrame(np.full(320, value, np.int16).tobytes(), RATE, 1, 320)


class Room:
    """Records every text stream: (topic, sender, attributes, text)."""

    def __init__(self) -> None:
        self.streams: list[tuple[str, str, dict[str, str], str]] = []
        self.local_participant = self

    async def stream_text(self, *, topic: str, sender_identity: str, attributes: dict[str, str]) -> Any:
        streams = self.streams

        class Writer:
            async def write(self, text: str) -> None:
                streams.append((topic, sender_identity, attributes, text))

            async def aclose(self) -> None:
                pass

        return Writer()


class Track:
    sid = "TR_device"

    def __init__(self) -> None:
        self.frames: asyncio.Queue[rtc.AudioFrame | None] = asyncio.Queue()


class AudioStream:
    """Stands in for rtc.AudioStream: the track's queued frames, until None."""

    def __init__(self, track: Track, **options: Any) -> None:
        assert options == {"sample_rate": RATE, "num_channels": 1, "frame_size_ms": 20}
        self._frames = track.frames

    def __aiter__(self) -> AudioStream:
        return self

    async def __anext__(self) -> SimpleNamespace:
        item = await self._frames.get()
        if item is None:
            raise StopAsyncIteration
        return SimpleNamespace(frame=item)

    async def aclose(self) -> None:
        pass


async def test_a_device_track_is_captioned_attributed_stored_and_recorded_across_an_stt_drop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(track_transcriber.rtc, "AudioStream", AudioStream)

    def finish(socket: FakeSocket) -> None:
        socket.answer(StreamFinal(segment_id="c2-00000", start_ms=1000, end_ms=2000, text=" world", language="en"))
        socket.answer(StreamEnd())

    service = FakeService(on_end=finish)
    plugin = intrascribe.STT("http://stt.test:8001", http_session=cast(aiohttp.ClientSession, service), audio_history_s=60)
    room, track = Room(), Track()
    stored: list[SegmentIn] = []
    delays: list[bool] = []
    recordings: list[tuple[str, int]] = []
    utterances: list[bytes] = []

    async def speaker_of(pcm: bytes) -> int:
        utterances.append(pcm)
        return 2

    async def on_final(segment: SegmentIn) -> None:
        stored.append(segment)

    async def on_delay(delayed: bool) -> None:
        delays.append(delayed)

    async def on_recording(path: str, offset_ms: int) -> None:
        recordings.append((path, offset_ms))

    transcriber = TrackTranscriber(
        cast(rtc.Room, room),
        cast(rtc.RemoteAudioTrack, track),
        Speaker("device-1", "Boardroom mic"),
        stt=plugin,
        language="en",
        offset_ms=5000,  # the track's first frame, on the session clock
        vocabulary=["Okonkwo", "Zorblax"],
        on_final=on_final,
        on_delay=on_delay,
        on_recording=on_recording,
        speaker_of=speaker_of,
        recording_dir=str(tmp_path),
    )
    running = asyncio.create_task(transcriber.run())
    for i in range(100):  # 2 s
        track.frames.put_nowait(frame(i))
    await until(lambda: len(service.sockets) == 1 and len(service.sockets[0].sent) == 100)
    first = service.sockets[0]
    assert first.offset_ms == 0
    first.answer(StreamPartial(segment_id="c1-00000", start_ms=200, end_ms=600, text="hel", language="en"))
    words = [Word(start_ms=200, end_ms=500, text=" hello", prob=0.5), Word(start_ms=500, end_ms=900, text="!")]
    first.answer(StreamFinal(segment_id="c1-00000", start_ms=200, end_ms=1000, text=" hello!", language="en", words=words))
    await until(lambda: len(stored) == 1)
    first.close_with(1006)
    await until(lambda: delays == [True, False] and len(service.sockets) == 2 and len(service.sockets[1].sent) == 50)
    second = service.sockets[1]
    assert second.offset_ms == 1000 and second.sent == first.sent[50:]  # what no final covered, again
    assert first.configs == second.configs == [(0, ["Okonkwo", "Zorblax"])]  # the session's vocabulary, first
    await transcriber.aclose()
    await asyncio.wait_for(running, 5)

    # Each final's audio (the 20 ms frames starting in its time range) decided its speaker.
    assert utterances == [b"".join(bytes(frame(i).data) for i in range(*frames)) for frames in ((10, 50), (50, 100))]
    captions = [(topic, sender, a["lk.transcription_final"], a["lk.segment_id"], text) for topic, sender, a, text in room.streams]
    assert captions == [
        ("lk.transcription", "device-1", "false", "c1-00000", "hel"),
        ("lk.transcription", "device-1", "true", "c1-00000", "hello!"),
        ("lk.transcription", "device-1", "true", "c2-00000", "world"),
    ]
    partial, final, _last = (a for _topic, _sender, a, _text in room.streams)
    assert partial == {
        "lk.segment_id": "c1-00000",
        "lk.transcribed_track_id": "TR_device",
        "lk.transcription_final": "false",
        "intrascribe.start_ms": "5200",
        "intrascribe.end_ms": "5600",
        "intrascribe.language": "en",
        "intrascribe.speaker": "device-1:S1",
        "intrascribe.speaker_name": "Boardroom mic · Speaker 1",
    }
    assert (final["intrascribe.start_ms"], final["intrascribe.end_ms"], final["intrascribe.speaker"]) == (
        "5200",
        "6000",
        "device-1:S2",
    )
    assert [(s.segment_id, s.speaker, s.speaker_name, s.start_ms, s.end_ms, s.text, s.language) for s in stored] == [
        ("c1-00000", "device-1:S2", "Boardroom mic · Speaker 2", 5200, 6000, "hello!", "en"),
        ("c2-00000", "device-1:S2", "Boardroom mic · Speaker 2", 6000, 7000, "world", "en"),
    ]
    assert [(w.start_ms, w.end_ms, w.text, w.prob) for w in stored[0].words] == [
        (5200, 5500, " hello", 0.5),
        (5500, 5900, "!", None),
    ]
    # Every frame was recorded, and the recording starts where the stream's clock does.
    ((path, offset_ms),) = recordings
    assert offset_ms == 5000
    assert await asyncio.to_thread(Path(path).read_bytes) == b"".join(bytes(frame(i).data) for i in range(100))
    await plugin.aclose()


async def test_without_a_recording_sink_the_recording_is_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(track_transcriber.rtc, "AudioStream", AudioStream)
    service = FakeService(on_end=lambda socket: socket.answer(StreamEnd()))
    plugin = intrascribe.STT("http://stt.test:8001", http_session=cast(aiohttp.ClientSession, service))
    track = Track()
    stored: list[SegmentIn] = []

    async def on_final(segment: SegmentIn) -> None:
        stored.append(segment)

    transcriber = TrackTranscriber(
        cast(rtc.Room, Room()),
        cast(rtc.RemoteAudioTrack, track),
        Speaker("user-a", "A"),
        stt=plugin,
        language=None,
        offset_ms=0,
        on_final=on_final,
        recording_dir=str(tmp_path),
    )
    running = asyncio.create_task(transcriber.run())
    track.frames.put_nowait(frame(1))
    track.frames.put_nowait(None)  # the track ends on its own
    await asyncio.wait_for(running, 5)
    assert stored == [] and await asyncio.to_thread(lambda: list(tmp_path.iterdir())) == []
    assert "language" not in service.sockets[0].params  # the service detects it
    assert service.sockets[0].controls == ["flush", "end"]


async def test_captions_and_stored_finals_are_redacted_before_they_leave_the_agent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With the session's redaction on, neither a caption (partial or final) nor the final handed
    on to be kept holds the number or address said: the words carry a placeholder with the span's
    timing."""
    monkeypatch.setattr(track_transcriber.rtc, "AudioStream", AudioStream)
    service = FakeService(on_end=lambda socket: socket.answer(StreamEnd()))
    plugin = intrascribe.STT("http://stt.test:8001", http_session=cast(aiohttp.ClientSession, service))
    room, track = Room(), Track()
    stored: list[SegmentIn] = []

    async def on_final(segment: SegmentIn) -> None:
        stored.append(segment)

    transcriber = TrackTranscriber(
        cast(rtc.Room, room),
        cast(rtc.RemoteAudioTrack, track),
        Speaker("user-1", "Alice"),
        stt=plugin,
        language="en",
        offset_ms=0,
        redactor=lambda: redactor_for(RedactionPolicy(enabled=True, terms=["Falcon"])),
        on_final=on_final,
        recording_dir=str(tmp_path),
    )
    running = asyncio.create_task(transcriber.run())
    for i in range(50):
        track.frames.put_nowait(frame(i))
    await until(lambda: len(service.sockets) == 1 and len(service.sockets[0].sent) == 50)
    socket = service.sockets[0]
    socket.answer(StreamPartial(segment_id="c1-00000", start_ms=0, end_ms=600, text="Falcon: call 555-12", language="en"))
    said = " Falcon: call 555-123-4567 or jo@example.com."
    words = [Word(start_ms=100 * n, end_ms=100 * n + 90, text=" " + w) for n, w in enumerate(said.split())]
    socket.answer(StreamFinal(segment_id="c1-00000", start_ms=0, end_ms=1000, text=said, language="en", words=words))
    await until(lambda: len(stored) == 1)
    await transcriber.aclose()
    await asyncio.wait_for(running, 5)

    assert [text for _topic, _sender, _a, text in room.streams] == [
        "[redacted]: call […]",
        "[redacted]: call [phone] or [email].",
    ]
    assert stored[0].text == "[redacted]: call [phone] or [email]."
    assert [(w.text, w.start_ms, w.end_ms) for w in stored[0].words] == [
        (" [redacted]:", 0, 90),
        (" call", 100, 190),
        (" [phone]", 200, 290),
        (" or", 300, 390),
        (" [email].", 400, 490),
    ]
    kept = stored[0].model_dump_json() + "".join(text for *_rest, text in room.streams)
    assert not any(secret in kept for secret in ("Falcon", "555", "4567", "jo@", "example"))
