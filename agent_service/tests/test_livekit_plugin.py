"""livekit-plugins-intrascribe in a stock LiveKit ``AgentSession``: real livekit-server, real STT
service (Whisper base); a participant speaks known sentences and the captions the session
forwards to the room on ``lk.transcription`` are scored by WER. Also ``recognize()`` (POST
/transcribe) on one clip."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from livekit import api, rtc
from livekit.agents import Agent, AgentSession, room_io
from livekit.plugins import intrascribe

from devstack.components import LIVEKIT_DEV_KEY, LIVEKIT_DEV_SECRET, StackPorts, livekit_server
from devstack.pytest_plugin import ServiceFactory
from tests.speech import ENGLISH, conversation, silence, synth, wer
from tests.test_stack_e2e import collect_captions

pytestmark = [pytest.mark.e2e]

RATE = 48000  # what a browser publishes; the plugin resamples to the service's 16 kHz


@pytest.fixture(scope="module")
def stt_url(services: ServiceFactory) -> str:
    return services.start("stt_service", "STT_PORT", {"STT_WHISPER_MODEL": "base"}, name="stt-plugin")


@pytest.fixture(scope="module")
def livekit_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ports = StackPorts.free()
    workdir: Path = tmp_path_factory.mktemp("livekit")
    proc = livekit_server(ports, workdir).start()
    try:
        proc.wait_ready()
        yield f"ws://127.0.0.1:{ports.livekit}"
    finally:
        proc.stop()


@pytest.fixture(scope="module")
async def plugin_stt(stt_url: str, services: ServiceFactory) -> AsyncIterator[intrascribe.STT]:
    plugin = intrascribe.STT(stt_url, language="en", caller="agent", api_key=services.keys.service_keys["agent"])
    yield plugin
    await plugin.aclose()


def token(room: str, identity: str, kind: Literal["standard", "agent"] = "standard") -> str:
    grants = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True, can_publish_data=True)
    access = api.AccessToken(LIVEKIT_DEV_KEY, LIVEKIT_DEV_SECRET).with_identity(identity).with_kind(kind)
    return access.with_grants(grants).to_jwt()


async def play(source: rtc.AudioSource, audio: np.ndarray) -> None:
    """16 kHz float audio into a 48 kHz source, at real-time pace (10 ms frames)."""
    upsampled = np.interp(np.arange(audio.size * 3) / 3, np.arange(audio.size), audio)
    pcm = (np.clip(upsampled, -1, 1) * 32767).astype(np.int16)
    frame = RATE // 100
    for i in range(0, pcm.size - frame + 1, frame):
        await source.capture_frame(rtc.AudioFrame(pcm[i : i + frame].tobytes(), RATE, 1, frame))


async def test_agent_session_forwards_the_plugins_captions_to_the_room(livekit_url: str, plugin_stt: intrascribe.STT) -> None:
    room_name = f"plugin-{uuid.uuid4().hex[:8]}"
    agent_room, speaker = rtc.Room(), rtc.Room()
    captions: list[dict[str, Any]] = []
    collect_captions(speaker, captions)
    await agent_room.connect(livekit_url, token(room_name, "transcriber", kind="agent"))
    await speaker.connect(livekit_url, token(room_name, "alice"))
    # STT only: no LLM, no TTS, no VAD (the service endpoints utterances itself).
    session: AgentSession[None] = AgentSession(stt=plugin_stt, vad=None)
    transcribed: list[tuple[str, bool]] = []
    session.on("user_input_transcribed", lambda ev: transcribed.append((ev.transcript, ev.is_final)))
    try:
        await session.start(
            Agent(instructions="Transcribe only."),
            room=agent_room,
            room_options=room_io.RoomOptions(participant_identity="alice", audio_output=False, text_output=True),
        )
        source = rtc.AudioSource(RATE, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        publication = await speaker.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        audio, utterances = conversation(list(ENGLISH), gap_s=1.5, lead_s=1.0)
        await asyncio.sleep(1.0)  # the session subscribes to the new track
        await play(source, np.concatenate([audio, silence(2.0)]))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(c["lk.transcription_final"] == "true" for c in captions) < len(utterances):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        await session.aclose()
        await asyncio.gather(speaker.disconnect(), agent_room.disconnect())

    finals = [c for c in captions if c["lk.transcription_final"] == "true"]
    assert [f["text"] for f in finals] == [text for text, is_final in transcribed if is_final], (finals, transcribed)
    assert len(finals) == len(utterances), captions
    for final, utterance in zip(finals, utterances, strict=True):
        assert final["sender"] == "alice"
        assert final["lk.transcribed_track_id"] == publication.sid
        assert wer(utterance.text, final["text"]) <= 0.3, (utterance.text, final["text"])
        interim = [c for c in captions if c["lk.segment_id"] == final["lk.segment_id"] and c["lk.transcription_final"] == "false"]
        assert interim and min(c["t"] for c in interim) < final["t"]  # interim transcripts came first
    overall = wer(" ".join(u.text for u in utterances), " ".join(f["text"] for f in finals))
    assert overall <= 0.15, overall


async def test_recognize_transcribes_one_clip(plugin_stt: intrascribe.STT) -> None:
    voice, text = ENGLISH[1]
    clip = np.concatenate([silence(0.3), synth(text, voice), silence(0.3)])
    pcm = (np.clip(clip, -1, 1) * 32767).astype(np.int16)
    event = await plugin_stt.recognize(rtc.AudioFrame(pcm.tobytes(), 16000, 1, pcm.size))
    (data,) = event.alternatives
    assert data.language == "en" and wer(text, data.text) <= 0.25, data.text
    assert data.words
    first, last = data.words[0].start_time, data.words[-1].end_time
    assert isinstance(first, float) and isinstance(last, float)
    assert 0.0 < first < last <= clip.size / 16000 + 0.1, (first, last)
