"""The ESP32 device path against the real stack: the simulator speaks the firmware's protocol to
the bridge, which publishes into the session's LiveKit room, where the agent transcribes it and
tells the room microphone's speakers apart. Protocol conformance (faults, reconnect replay),
refusals (tokens, malformed frames) and the end-to-end captions."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import httpx
import numpy as np
import pytest
from livekit import rtc

from agent_service.bridge.protocol import Frame, hello
from agent_service.bridge.simulator import DeviceSimulator, Faults, SimulatorResult, pcm_frames
from devstack.pytest_plugin import Servers
from shared.service_auth import service_header
from tests.http import call
from tests.speech import LINES, VOICES, silence, synth, wer
from tests.test_stack_e2e import collect_captions

pytestmark = [pytest.mark.e2e]


def tone(seconds: float, hz: float = 300.0) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def owner_auth(stack: Servers, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.user_token(user, f'{user}@example.com')}"}


async def register_device(stack: Servers, user: str, name: str) -> dict[str, Any]:
    response = await call("POST", f"{stack.url('api')}/api/v1/devices/", json={"name": name}, headers=owner_auth(stack, user))
    assert response.status_code == 201, response.text
    return dict(response.json())


def bridge_ws(stack: Servers) -> str:
    return stack.url("bridge").replace("http://", "ws://") + "/v1/device"


async def device_stats(stack: Servers, device_id: str) -> dict[str, Any]:
    """The final counters of a device's link once the bridge has closed it (a cleanly closed
    link is removed at once, but its room is left in the background)."""
    assert stack.secrets is not None
    headers = service_header("agent", stack.secrets.service_keys)
    deadline = time.monotonic() + 20
    while True:
        links = (await call("GET", f"{stack.url('bridge')}/v1/devices", headers=headers)).json()
        link = next((link for link in links if link["identity"] == f"device-{device_id}"), None)
        if (link is not None and link["ended"]) or time.monotonic() > deadline:
            assert link is not None, links
            return dict(link)
        await asyncio.sleep(0.1)


async def run(stack: Servers, token: str | None, frames: list[bytes], **options: Any) -> SimulatorResult:
    return await asyncio.wait_for(DeviceSimulator(bridge_ws(stack), token, frames, **options).run(), 120)


async def test_bad_or_missing_device_tokens_are_refused(stack: Servers) -> None:
    frames = pcm_frames(tone(0.5))
    for token in ("isd_forged", None, "not-a-device-token"):
        result = await run(stack, token, frames)
        assert result.close_code == 4001 and not result.configs, (token, result)
        assert result.errors and result.errors[0]["code"] == "unauthorized"
    device = await register_device(stack, "revoker", "Revoked mic")
    revoked = await call("DELETE", f"{stack.url('api')}/api/v1/devices/{device['id']}", headers=owner_auth(stack, "revoker"))
    assert revoked.status_code == 204
    assert (await run(stack, device["token"], frames)).close_code == 4001


async def _raw_device(stack: Servers, token: str, *messages: bytes | str) -> tuple[int | None, list[dict[str, Any]], str]:
    """Connect, send ``messages`` as they are, and return (close code, JSON received, reason)."""
    received: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(bridge_ws(stack), headers={"Authorization": f"Bearer {token}"}) as ws,
    ):
        for message in messages:
            await (ws.send_bytes(message) if isinstance(message, bytes) else ws.send_str(message))
        reason = ""
        while True:
            answer = await ws.receive(timeout=20)
            if answer.type == aiohttp.WSMsgType.TEXT:
                received.append(json.loads(answer.data))
            else:
                reason = str(answer.extra or "")
                break
        return ws.close_code, received, reason


async def test_malformed_frames_close_only_that_connection(stack: Servers) -> None:
    good = await register_device(stack, "owner-malformed", "Good mic")
    bad = await register_device(stack, "owner-malformed", "Broken mic")
    streaming = asyncio.create_task(run(stack, good["token"], pcm_frames(tone(4.0))))
    await asyncio.sleep(1.0)
    cases: list[tuple[tuple[bytes | str, ...], int, str]] = [
        ((hello(), b"\x01\x01\x00"), 4002, "shorter than"),
        ((hello(), Frame(0, 0, b"\x00\x01\x02").encode()), 4002, "even"),
        ((hello(), bytes([9, 1, 0, 0]) + bytes(12) + bytes(640)), 4002, "version 9"),
        ((hello(), "this is not json"), 4002, "not JSON"),
        ((Frame(0, 0, bytes(640)).encode(),), 4002, "hello"),
        ((hello().replace("16000", "48000"),), 4003, "not supported"),
    ]
    for messages, code, reason in cases:
        closed, received, close_reason = await _raw_device(stack, bad["token"], *messages)
        assert closed == code, (messages[-1][:20], closed, received)
        assert received[-1]["type"] == "error" and reason in received[-1]["message"]
        assert reason in close_reason or close_reason in received[-1]["message"]
    result = await streaming
    assert result.close_code == 1000 and not result.errors, result
    stats = await device_stats(stack, good["id"])
    assert stats["frames"]["played"] == result.frames_captured == 200
    assert (await call("GET", f"{stack.url('bridge')}/health/ready")).status_code == 200


async def test_reordered_duplicate_late_and_lost_frames_are_placed_by_sequence(stack: Servers) -> None:
    device = await register_device(stack, "owner-faults", "Lossy mic")
    faults = Faults(reorder=0.05, duplicate=0.05, drop=0.02, late=0.02)
    result = await run(stack, device["token"], pcm_frames(tone(8.0)), faults=faults, first_seq=2**32 - 100)
    assert result.close_code == 1000 and not result.errors, result
    assert min(result.reordered, result.duplicated, result.dropped, result.delayed) >= 2, result
    frames = (await device_stats(stack, device["id"]))["frames"]
    slots = frames["played"] + frames["gaps"] + frames["skipped"] + frames["dropped_drift"]
    # Every sequence slot is played exactly once (the first or last frame may be the lost one),
    # across the 2^32 wrap; nothing is played twice.
    assert result.frames_captured - 2 <= slots <= result.frames_captured, (frames, result)
    assert frames["skipped"] == 0
    assert frames["played"] >= result.frames_captured - result.dropped - result.delayed
    assert frames["gaps"] >= result.dropped
    rejected = frames["duplicates"] + frames["late"]
    assert result.duplicated <= rejected <= result.duplicated + result.delayed
    assert frames["received"] == result.frames_sent + result.duplicated


async def test_a_reconnecting_device_replays_what_the_bridge_missed(stack: Servers) -> None:
    device = await register_device(stack, "owner-replay", "Flaky wifi mic")
    faults = Faults(disconnect_at_s=3.0, outage_s=2.0)
    result = await run(stack, device["token"], pcm_frames(tone(8.0)), faults=faults)
    assert result.close_code == 1000 and not result.errors, result
    assert result.connections == 2
    first, second = result.configs
    assert first["last_seq"] is None and second["last_seq"] is not None
    assert second["session_id"] == first["session_id"]
    assert 80 <= result.replayed <= 250  # ~2 s of audio captured while away
    stats = await device_stats(stack, device["id"])
    assert stats["connections"] == 2
    frames = stats["frames"]
    assert frames["replayed"] == result.replayed
    # Nothing lost: every frame was played, bar quiet ones dropped to catch up (a tone has none).
    assert frames["played"] == result.frames_captured == 400, frames
    assert frames["gaps"] == frames["skipped"] == frames["late"] == 0


async def test_room_microphone_captions_tell_two_speakers_apart(stack: Servers) -> None:
    """Two voices take turns at one ESP32: the agent's finals on lk.transcription carry the
    device as sender and two distinct speakers, in the order they spoke."""
    device = await register_device(stack, "owner-e2e", "Boardroom mic")
    script = [(0, LINES[0]), (1, LINES[1]), (0, LINES[2]), (1, LINES[3])]
    # Time for the agent to join and subscribe to the device on a busy machine (speech before that
    # is not heard: the device streams from its first connection).
    pieces = [silence(4.0)]
    for who, text in script:
        voice, pitch, speed = VOICES[who]
        pieces += [synth(text, voice, speed, pitch), silence(1.6)]
    audio = np.concatenate(pieces)

    # The device's first connection starts the session; the owner joins its room to listen.
    auth = owner_auth(stack, "owner-e2e")
    captions: list[dict[str, Any]] = []
    listener = rtc.Room()

    collect_captions(listener, captions)
    simulator = DeviceSimulator(bridge_ws(stack), device["token"], pcm_frames(audio))
    streaming = asyncio.create_task(simulator.run())
    try:
        deadline = time.monotonic() + 20
        while not simulator.result.configs and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        session_id = simulator.result.configs[0]["session_id"]
        async with httpx.AsyncClient(base_url=stack.url("api"), headers=auth, timeout=30) as api:
            details = (await api.post("/api/v1/livekit/connection-details", json={"session_id": session_id})).json()
        await listener.connect(stack.livekit_url, details["participantToken"])
        result = await asyncio.wait_for(streaming, 120)
        assert result.close_code == 1000, result
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(c["lk.transcription_final"] == "true" for c in captions) < 4:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        await listener.disconnect()

    finals = [c for c in captions if c["lk.transcription_final"] == "true"]
    assert len(finals) >= 4, captions
    assert {f["sender"] for f in finals} == {f"device-{device['id']}"}
    # Each scripted line is the best-matching final; speakers alternate as in the script.
    speaker_of_line, errors = [], []
    for _who, text in script:
        best = min(finals, key=lambda f: wer(text, f["text"]))
        errors.append(wer(text, best["text"]))
        speaker_of_line.append(best["intrascribe.speaker"])
    heard = [(f["intrascribe.speaker"], f["text"]) for f in finals]
    assert max(errors) <= 0.6 and sum(errors) / len(errors) <= 0.3, (errors, heard)
    assert speaker_of_line[0] == speaker_of_line[2] != speaker_of_line[1] == speaker_of_line[3], heard
    assert all(label.startswith(f"device-{device['id']}:S") for label in speaker_of_line)

    async with httpx.AsyncClient(base_url=stack.url("api"), headers=auth, timeout=30) as api:
        stored = (await api.get(f"/api/v1/sessions/{session_id}/transcript")).json()["segments"]
        assert {s["speaker"] for s in stored} == set(speaker_of_line)
        listed = (await api.get("/api/v1/devices/")).json()
        assert next(d for d in listed if d["id"] == device["id"])["online"] is True


async def test_a_device_that_goes_silent_is_closed_as_idle(stack: Servers) -> None:
    """No frames and no heartbeats on an open connection: the bridge closes it with 4008 after
    three heartbeat periods, and the device can come back."""
    device = await register_device(stack, "owner-stall", "Stalled mic")
    stalled = await run(stack, device["token"], pcm_frames(tone(3.0)), faults=Faults(stall_at_s=1.0))
    heartbeat_s = stalled.configs[0]["heartbeat_s"]
    assert stalled.close_code == 4008 and "heartbeat" in stalled.close_reason, stalled
    again = await run(stack, device["token"], pcm_frames(tone(1.0)))
    assert again.close_code == 1000 and not again.errors, again
    assert heartbeat_s == 3


async def test_a_rebooted_device_starts_its_sequence_again(stack: Servers) -> None:
    """After a power cut the device counts frames from 0 again under a new boot_id: the bridge
    forgets the old numbers instead of dropping the new frames as late."""
    device = await register_device(stack, "owner-reboot", "Unplugged mic")
    first = await run(stack, device["token"], pcm_frames(tone(3.0)), faults=Faults(power_off_at_s=1.5))
    assert first.configs and first.close_code is None
    again = await run(stack, device["token"], pcm_frames(tone(2.0)))
    assert again.close_code == 1000 and not again.errors, again
    assert again.configs[0]["last_seq"] is None  # nothing to replay from the old boot
    assert again.configs[0]["session_id"] == first.configs[0]["session_id"]
    frames = (await device_stats(stack, device["id"]))["frames"]
    assert frames["late"] == 0, frames
    assert frames["played"] >= 75 + 100, str(frames)  # the first boot's 1.5 s and all of the second's
