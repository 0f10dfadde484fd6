"""Redaction end to end, with the whole stack as real processes: a participant in a meeting with
redaction on says a phone number and an e-mail address; the captions on lk.transcription
(partials and finals) and the stored transcript carry placeholders, and nothing in them is left
for the redactor to find. An upload with redaction on is stored redacted too (no agent there:
the API's own redaction).

Speech recognition decides how a number or an address is written (Whisper base wrote "415 555
0132" as "415-555-0132" and "john dot smith at gmail dot com" in three ways for three voices);
so beyond the placeholders the tests check that the redactor finds nothing more in what was
shown or kept, which fails as soon as either redaction step is left out."""

from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np
import pytest
from livekit import rtc

from devstack.pytest_plugin import Servers
from shared.contracts.redaction import RedactionPolicy
from shared.redaction import redactor_for
from tests.speech import conversation, silence
from tests.test_batch import flac, upload, wait_for
from tests.test_stack_e2e import _details, _play, agent_listening, collect_captions, publish_microphones

pytestmark = [pytest.mark.e2e]

POLICY = {"enabled": True, "kinds": ["email", "phone", "card", "account"], "terms": ["Falcon"]}
SAID = [
    ("en-gb", "Please call me at 415 555 0132 tomorrow."),
    ("en-us", "My email address is john dot smith at gmail dot com."),
]
REDACTOR = redactor_for(RedactionPolicy.model_validate(POLICY))


def nothing_left(texts: list[str]) -> None:
    for text in texts:
        assert REDACTOR.redact(text) == text, text
        assert "0132" not in text, text


async def test_a_meeting_with_redaction_on_is_captioned_and_stored_redacted(stack: Servers) -> None:
    token = stack.user_token("redaction-id", "redaction@example.com")
    details = _details(stack, token, title="Redacted", language="en", redaction=POLICY).json()
    captions: list[dict] = []
    room = rtc.Room()
    collect_captions(room, captions)
    await room.connect(stack.livekit_url, details["participantToken"])
    try:
        (source,) = (await publish_microphones({"speaker": room})).values()
        audio, _utterances = conversation(SAID, gap_s=1.5, lead_s=1.0)
        await agent_listening(room)
        await _play(source, np.concatenate([audio, silence(1.5)]))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(c["lk.transcription_final"] == "true" for c in captions) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        await room.disconnect()
    finals = [c["text"] for c in captions if c["lk.transcription_final"] == "true"]
    partials = [c["text"] for c in captions if c["lk.transcription_final"] == "false"]
    assert "[phone]" in " ".join(finals), finals
    nothing_left(finals + partials)
    async with httpx.AsyncClient(base_url=stack.url("api"), headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        session = (await api.get(f"/api/v1/sessions/{details['sessionId']}")).json()
        stored = (await api.get(f"/api/v1/sessions/{details['sessionId']}/transcript")).json()["segments"]
    assert session["redaction"] == POLICY
    texts = [s["text"] for s in stored]
    assert "[phone]" in " ".join(texts), texts
    nothing_left(texts)
    # The words too: the placeholder is one word, with the span's timing, and the digits are gone.
    words = [w for s in stored for w in s["words"]]
    phone = [w for w in words if "[phone]" in w["text"]]
    assert len(phone) == 1 and phone[0]["end_ms"] > phone[0]["start_ms"], phone
    nothing_left([" ".join(w["text"] for w in words)])


def test_an_upload_with_redaction_on_is_stored_redacted(stack: Servers) -> None:
    auth = {"Authorization": f"Bearer {stack.user_token('redaction-upload-id', 'redaction-upload@example.com')}"}
    audio, _utterances = conversation(SAID, gap_s=1.0)
    refused = upload(stack, auth, flac(audio), redaction='{"enabled": true, "kinds": ["ssn"]}')
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        "The redaction field is not a policy: 'ssn' is not something redaction can find: "
        "choose from email, phone, card and account."
    )
    # The user's default, taken by an upload that names no policy.
    assert httpx.put(f"{stack.url('api')}/api/v1/me/redaction", json=POLICY, headers=auth).status_code == 200
    accepted = upload(stack, auth, flac(audio), language="en").json()
    assert wait_for(stack, auth, accepted["job_id"])[-1]["status"] == "completed"
    stored = httpx.get(f"{stack.url('api')}/api/v1/sessions/{accepted['session_id']}/transcript", headers=auth).json()
    texts = [s["text"] for s in stored["segments"]]
    assert "[phone]" in " ".join(texts), texts
    nothing_left(texts + [w["text"] for s in stored["segments"] for w in s["words"]])
