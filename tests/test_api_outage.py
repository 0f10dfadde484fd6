"""The API stops for a minute during a two-person meeting and while it ends. Captions go on (they
need only LiveKit and STT); what the agent has for the API waits in its outbox on disk. Once the
API is back, every final and both recordings are stored exactly once and the session completes."""

from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np
import pytest
from livekit import rtc

from devstack.pytest_plugin import Servers
from tests.test_stack_e2e import LIVE, _details, _play, agent_listening, collect_captions, invite_code, publish_microphones

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OUTAGE_S = 60


def finals_of(captions: list[dict]) -> list[dict]:
    return sorted((c for c in captions if c["lk.transcription_final"] == "true"), key=lambda c: int(c["intrascribe.start_ms"]))


async def test_nothing_the_agent_heard_is_lost_while_the_api_is_down(stack: Servers) -> None:
    from tests.speech import ENGLISH, silence, synth, wer

    alice_token = stack.user_token("outage-alice", "alice@example.com")
    auth = {"Authorization": f"Bearer {alice_token}"}
    details = _details(stack, alice_token, title="Outage", language="en").json()
    session_id = details["sessionId"]
    invite = await invite_code(stack, alice_token, session_id)
    bob_details = _details(stack, stack.user_token("outage-bob"), session_id=session_id, invite_code=invite).json()

    captions: list[dict] = []

    alice, bob = rtc.Room(), rtc.Room()
    collect_captions(alice, captions)
    await alice.connect(stack.livekit_url, details["participantToken"])
    await bob.connect(stack.livekit_url, bob_details["participantToken"])
    script = [("alice", ENGLISH[0]), ("bob", ENGLISH[2]), ("alice", ENGLISH[1])]
    api_process = stack.processes["api"]
    try:
        sources = await publish_microphones({"alice": alice, "bob": bob})
        await agent_listening(alice)
        api_process.stop()
        stopped = time.monotonic()
        for name, (voice, text) in script:
            await _play(sources[name], np.concatenate([synth(text, voice), silence(1.2)]))
        # Wait for the finals of all three lines (a line may come as two finals).
        spoken = " ".join(text for _name, (_voice, text) in script)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and wer(spoken, " ".join(f["text"] for f in finals_of(captions))) > 0.3:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)  # and for a last fragment's final
        # Everyone leaves while the API is still down: the job ends, its outbox stays on disk.
        await bob.disconnect()
        await alice.disconnect()
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
    finally:
        if not api_process.running:
            api_process.start().wait_ready()

    finals = finals_of(captions)
    assert len(finals) >= 3, captions  # live captions did not need the API
    async with httpx.AsyncClient(base_url=stack.url("api"), headers=auth, timeout=30) as api:
        deadline = time.monotonic() + 90
        session: dict = {}
        recordings: list[dict] = []
        while time.monotonic() < deadline:
            session = (await api.get(f"/api/v1/sessions/{session_id}")).json()
            recordings = (await api.get(f"/api/v1/sessions/{session_id}/recordings")).json()
            if session["status"] == "completed" and len(recordings) >= 2:
                break
            await asyncio.sleep(1)
        assert session["status"] == "completed", session
        stored = (await api.get(f"/api/v1/sessions/{session_id}/transcript", params=LIVE)).json()["segments"]
    assert sorted(r["track"] for r in recordings) == ["user-outage-alice", "user-outage-bob"], recordings
    # Every final shown live is stored, once, with its speaker and text.
    assert [(s["segment_id"], s["speaker"], s["text"]) for s in stored] == [
        (f["lk.segment_id"], f["intrascribe.speaker"], f["text"].strip()) for f in finals
    ]
    assert {s["speaker"] for s in stored} == {"user-outage-alice", "user-outage-bob"}
    assert wer(spoken, " ".join(s["text"] for s in stored)) <= 0.3
