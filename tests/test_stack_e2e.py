"""The whole system as real processes: every service ready, the API mints LiveKit access, two
livekit.rtc clients meet in the room, one hears the other, and the agent is dispatched in."""

from __future__ import annotations

import asyncio
import math
import time

import httpx
import jwt
import numpy as np
import pytest
from livekit import rtc

from devstack.pytest_plugin import Servers
from shared.service_auth import service_header

pytestmark = [pytest.mark.e2e]

SERVICES = ("api", "stt", "diarization", "agent")
# The transcript as the agent stored it live: after the meeting, post-meeting processing writes the
# whole recordings' transcript as version 2, which a test reading late could otherwise see.
LIVE = {"version": 1}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_ready(stack: Servers, service: str) -> None:
    health = httpx.get(f"{stack.url(service)}/health", timeout=5)
    assert health.status_code == 200 and health.json()["service"] == service
    ready = httpx.get(f"{stack.url(service)}/health/ready", timeout=5)
    assert ready.status_code == 200, ready.text
    assert ready.json()["ready"] is True
    metrics = httpx.get(f"{stack.url(service)}/metrics", timeout=5)
    assert "http_requests_total" in metrics.text


def _details(stack: Servers, token: str | None, **body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{stack.url('api')}/api/v1/livekit/connection-details", json=body, headers=headers, timeout=15)


def collect_captions(room: rtc.Room, captions: list[dict]) -> None:
    """Every caption published in the room is appended to ``captions``: its text, sender, stream
    attributes and the time it was read whole."""

    def on_caption(reader: rtc.TextStreamReader, sender: str) -> None:
        async def collect() -> None:
            text = await reader.read_all()
            captions.append({"text": text, "sender": sender, **(reader.info.attributes or {}), "t": time.monotonic()})

        asyncio.get_running_loop().create_task(collect())

    room.register_text_stream_handler("lk.transcription", on_caption)


async def publish_microphones(rooms: dict[str, rtc.Room]) -> dict[str, rtc.AudioSource]:
    """A 16 kHz microphone track published in each room; the sources to play into, by name."""
    sources = {}
    for name, room in rooms.items():
        sources[name] = rtc.AudioSource(16000, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", sources[name])
        await room.local_participant.publish_track(track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    return sources


async def invite_code(stack: Servers, owner_token: str, session_id: str) -> str:
    async with httpx.AsyncClient(
        base_url=stack.url("api"), headers={"Authorization": f"Bearer {owner_token}"}, timeout=30
    ) as api:
        return str((await api.get(f"/api/v1/sessions/{session_id}")).json()["invite_code"])


def has_agent(room: rtc.Room) -> bool:
    return any(p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT for p in room.remote_participants.values())


async def agent_listening(room: rtc.Room, timeout_s: float = 45) -> None:
    """Until the agent is in the room and has had a moment to subscribe: audio played before then
    is neither transcribed nor recorded (a job process may still be starting on a busy machine)."""
    deadline = time.monotonic() + timeout_s
    while not has_agent(room) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    assert has_agent(room), "the agent never joined"
    await asyncio.sleep(1.0)


def test_connection_details_refuse_missing_forged_and_expired_tokens(stack: Servers) -> None:
    assert _details(stack, None).status_code == 401
    forged = jwt.encode({"sub": "u1", "aud": "authenticated", "exp": int(time.time()) + 60}, "not-the-secret", algorithm="HS256")
    assert _details(stack, forged).status_code == 401
    assert _details(stack, stack.user_token("u1", ttl_s=-10)).json()["detail"] == "token expired"
    assert _details(stack, "not-a-jwt").status_code == 401


def test_connection_details_grant_only_the_session_room(stack: Servers) -> None:
    response = _details(stack, stack.user_token("alice-id", "alice@example.com"), title="Standup")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"serverUrl", "roomName", "participantName", "participantIdentity", "participantToken", "sessionId"}
    assert body["roomName"].endswith(body["sessionId"])
    claims = jwt.decode(body["participantToken"], stack.livekit_secret, algorithms=["HS256"], options={"verify_aud": False})
    grant = claims["video"]
    assert grant["room"] == body["roomName"] and grant["roomJoin"] is True
    # Data for the chat (lk.chat); see test_a_participant_cannot_caption_in_anothers_name.
    assert not grant.get("roomAdmin") and grant.get("canPublishData") is True
    assert claims["sub"] == body["participantIdentity"] == "user-alice-id"
    assert body["participantName"] == "alice@example.com"


async def _publish_tone(source: rtc.AudioSource, stop: asyncio.Event, hz: float = 440.0) -> None:
    rate, frame = 48000, 480  # 10 ms frames
    t = 0
    while not stop.is_set():
        samples = (np.sin(2 * math.pi * hz * (np.arange(frame) + t) / rate) * 0.3 * 32767).astype(np.int16)
        await source.capture_frame(rtc.AudioFrame(samples.tobytes(), rate, 1, frame))
        t += frame


async def test_two_clients_meet_and_the_agent_joins(stack: Servers) -> None:
    alice_token = stack.user_token("alice-id", "alice@example.com")
    first = _details(stack, alice_token).json()
    async with httpx.AsyncClient() as client:
        session = (
            await client.get(
                f"{stack.url('api')}/api/v1/sessions/{first['sessionId']}", headers={"Authorization": f"Bearer {alice_token}"}
            )
        ).json()
    bob_token = stack.user_token("bob-id", "bob@example.com")
    assert _details(stack, bob_token, session_id=first["sessionId"]).status_code == 404  # not invited
    second = _details(stack, bob_token, session_id=first["sessionId"], invite_code=session["invite_code"]).json()
    assert second["roomName"] == first["roomName"] == session["room_name"]

    alice, bob = rtc.Room(), rtc.Room()
    heard = asyncio.get_running_loop().create_future()

    @bob.on("track_subscribed")
    def _on_track(track: rtc.Track, _pub: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO and not heard.done():
            heard.set_result((track, participant.identity))

    stop = asyncio.Event()
    await alice.connect(stack.livekit_url, first["participantToken"])
    await bob.connect(stack.livekit_url, second["participantToken"])
    try:
        source = rtc.AudioSource(48000, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        await alice.local_participant.publish_track(track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
        tone = asyncio.create_task(_publish_tone(source, stop))

        remote_track, identity = await asyncio.wait_for(heard, 20)
        assert identity == "user-alice-id"
        # Bob really receives Alice's audio, not just the track announcement.
        energy = 0.0
        async for event in rtc.AudioStream(remote_track, sample_rate=48000, num_channels=1):
            energy = float(np.abs(np.frombuffer(event.frame.data, dtype=np.int16)).mean())
            if energy > 1000:
                break
        assert energy > 1000

        # The API dispatched the transcription agent into the room.
        await agent_listening(bob)
        stop.set()
        await tone
    finally:
        stop.set()
        await alice.disconnect()
        await bob.disconnect()


async def test_meetings_starting_together_each_get_the_agent(stack: Servers) -> None:
    # Four rooms dispatched within milliseconds of each other while the agent runs no job: the
    # SDK's load accounting used to refuse all but the first and LiveKit dropped the others.
    rooms = [rtc.Room() for _ in range(4)]
    tokens = [stack.user_token(f"burst-{n}") for n in range(len(rooms))]
    async with httpx.AsyncClient(timeout=30) as client:
        details = await asyncio.gather(
            *(
                client.post(
                    f"{stack.url('api')}/api/v1/livekit/connection-details",
                    json={"title": f"burst {n}"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                for n, token in enumerate(tokens)
            )
        )
    try:
        await asyncio.gather(
            *(room.connect(stack.livekit_url, d.json()["participantToken"]) for room, d in zip(rooms, details, strict=True))
        )
        deadline = time.monotonic() + 60
        joined: list[bool] = []
        while time.monotonic() < deadline:
            joined = [has_agent(room) for room in rooms]
            if all(joined):
                break
            await asyncio.sleep(0.2)
        assert all(joined), joined
    finally:
        await asyncio.gather(*(room.disconnect() for room in rooms))


async def _play(source: rtc.AudioSource, audio: np.ndarray, rate: int = 16000) -> None:
    """Play 16 kHz float audio into a LiveKit audio source at real-time pace (10 ms frames)."""
    frame = rate // 100
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    for i in range(0, pcm.size - frame + 1, frame):
        await source.capture_frame(rtc.AudioFrame(pcm[i : i + frame].tobytes(), rate, 1, frame))


async def test_live_captions_for_a_speaking_participant(stack: Servers) -> None:
    """A participant speaks known sentences: captions arrive on lk.transcription (partials, then
    finals) attributed to them, and each final is stored once through the API."""
    from tests.speech import ENGLISH, conversation, silence, wer

    token = stack.user_token("speaker-id", "speaker@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    details = _details(stack, token, title="Live captions", language="en").json()
    async with httpx.AsyncClient(base_url=stack.url("api"), headers=auth, timeout=30) as api:
        invite = (await api.get(f"/api/v1/sessions/{details['sessionId']}")).json()["invite_code"]
    listener_details = _details(
        stack, stack.user_token("listener-id"), session_id=details["sessionId"], invite_code=invite
    ).json()

    captions: list[dict] = []
    listener, speaker = rtc.Room(), rtc.Room()

    collect_captions(listener, captions)
    await listener.connect(stack.livekit_url, listener_details["participantToken"])
    await speaker.connect(stack.livekit_url, details["participantToken"])
    try:
        source = rtc.AudioSource(16000, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        publication = await speaker.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        audio, utterances = conversation([(v, t) for v, t in ENGLISH[:2]], gap_s=1.5, lead_s=1.0)
        await agent_listening(speaker)
        await _play(source, np.concatenate([audio, silence(1.5)]))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(c["lk.transcription_final"] == "true" for c in captions) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        await speaker.disconnect()

    finals = [c for c in captions if c["lk.transcription_final"] == "true"]
    assert len(finals) == 2, captions
    for final, utterance in zip(finals, utterances, strict=True):
        assert final["sender"] == "user-speaker-id"
        assert final["lk.transcribed_track_id"] == publication.sid
        assert wer(utterance.text, final["text"]) <= 0.3, final["text"]
        partials = [
            c for c in captions if c["lk.segment_id"] == final["lk.segment_id"] and c["lk.transcription_final"] == "false"
        ]
        assert partials and min(p["t"] for p in partials) < final["t"]
    assert int(finals[1]["intrascribe.start_ms"]) > int(finals[0]["intrascribe.end_ms"])

    async with httpx.AsyncClient(base_url=stack.url("api"), headers=auth, timeout=30) as api:
        stored = (await api.get(f"/api/v1/sessions/{details['sessionId']}/transcript", params=LIVE)).json()["segments"]
        assert [s["segment_id"] for s in stored] == [f["lk.segment_id"] for f in finals]
        assert {s["speaker"] for s in stored} == {"user-speaker-id"}
        # The listener leaves too: the empty room ends the job and completes the session.
        await listener.disconnect()
        deadline = time.monotonic() + 40
        status = ""
        while time.monotonic() < deadline and status != "completed":
            status = (await api.get(f"/api/v1/sessions/{details['sessionId']}")).json()["status"]
            await asyncio.sleep(0.5)
        assert status == "completed"
        # The speaker's whole track was recorded, silences included, on the session clock.
        recordings = (await api.get(f"/api/v1/sessions/{details['sessionId']}/recordings")).json()
        mine = next(r for r in recordings if r["track"] == "user-speaker-id")
        played_ms = (audio.size / 16000 + 1.5) * 1000
        assert played_ms - 500 <= mine["duration_ms"] <= played_ms + 15_000, (mine, played_ms)
        wav = (await api.get(f"/api/v1/sessions/{details['sessionId']}/recordings/{mine['id']}/audio")).content
        assert wav[:4] == b"RIFF" and abs((len(wav) - 44) / 32 - mine["duration_ms"]) < 50
        assert int(finals[0]["intrascribe.start_ms"]) >= mine["offset_ms"]


async def test_a_sessions_vocabulary_spells_its_names_in_the_live_captions(stack: Servers) -> None:
    """A meeting created with a vocabulary: the agent reads it with the session and streams it to
    the STT service, and the names the model cannot spell on its own ("Tismetana said the
    post-dress QL migration", "from Bluffar in Tokyo with low") come out as listed in the captions
    and the stored transcript."""
    from tests.speech import RARE_NAMES, VOCABULARY, conversation, found_terms, silence

    token = stack.user_token("vocabulary-id", "vocabulary@example.com")
    details = _details(stack, token, title="Vocabulary", language="en", vocabulary=VOCABULARY).json()
    said = [RARE_NAMES[4], RARE_NAMES[3]]
    terms = [term for _voice, _text, names in said for term in names]
    captions: list[dict] = []
    room = rtc.Room()
    collect_captions(room, captions)
    await room.connect(stack.livekit_url, details["participantToken"])
    try:
        (source,) = (await publish_microphones({"speaker": room})).values()
        audio, _utterances = conversation([(voice, text) for voice, text, _names in said], gap_s=1.5, lead_s=1.0)
        await agent_listening(room)
        await _play(source, np.concatenate([audio, silence(1.5)]))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(c["lk.transcription_final"] == "true" for c in captions) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        await room.disconnect()
    finals = " ".join(c["text"] for c in captions if c["lk.transcription_final"] == "true")
    assert found_terms(terms, finals) >= 3, finals
    async with httpx.AsyncClient(base_url=stack.url("api"), headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        session = (await api.get(f"/api/v1/sessions/{details['sessionId']}")).json()
        stored = (await api.get(f"/api/v1/sessions/{details['sessionId']}/transcript", params=LIVE)).json()["segments"]
    assert session["vocabulary"] == VOCABULARY
    assert found_terms(terms, " ".join(s["text"] for s in stored)) >= 3


async def test_devices_join_their_room_with_a_device_token(stack: Servers) -> None:
    owner = {"Authorization": f"Bearer {stack.user_token('device-owner')}"}
    async with httpx.AsyncClient(base_url=stack.url("api"), timeout=30) as api:
        created = (await api.post("/api/v1/devices/", json={"name": "Room 4 mic"}, headers=owner)).json()
        token = created["token"]
        assert token.startswith("isd_") and created["online"] is False
        device_auth = {"Authorization": f"Bearer {token}"}
        first = (await api.post("/api/v1/devices/connection-details", headers=device_auth)).json()
        again = (await api.post("/api/v1/devices/connection-details", headers=device_auth)).json()
        assert first["sessionId"] == again["sessionId"]  # the session in progress is reused
        claims = jwt.decode(first["participantToken"], stack.livekit_secret, algorithms=["HS256"], options={"verify_aud": False})
        assert claims["sub"] == f"device-{created['id']}" and claims["video"]["room"] == first["roomName"]
        room = rtc.Room()
        await room.connect(stack.livekit_url, first["participantToken"])
        await room.disconnect()
        listed = (await api.get("/api/v1/devices/", headers=owner)).json()
        assert listed[0]["online"] is True and listed[0]["current_session_id"] == first["sessionId"]
        session = (await api.get(f"/api/v1/sessions/{first['sessionId']}", headers=owner)).json()
        assert session["source"] == "device"
        stranger = {"Authorization": f"Bearer {stack.user_token('stranger')}"}
        assert (await api.delete(f"/api/v1/devices/{created['id']}", headers=stranger)).status_code == 404
        assert (await api.delete(f"/api/v1/devices/{created['id']}", headers=owner)).status_code == 204
        assert (await api.post("/api/v1/devices/connection-details", headers=device_auth)).status_code == 401
        assert (
            await api.post("/api/v1/devices/connection-details", headers={"Authorization": "Bearer isd_forged"})
        ).status_code == 401
        assert (
            await api.post("/api/v1/devices/connection-details", headers=owner)
        ).status_code == 401  # a user token is not a device


async def test_captions_survive_an_stt_restart_mid_utterance(stack: Servers) -> None:
    """The STT service is killed while someone speaks and started again: the agent buffers the
    audio, reconnects, sends it again, and no final is lost."""
    import signal

    from tests.speech import ENGLISH, conversation, silence, wer

    token = stack.user_token("resilient-id", "resilient@example.com")
    details = _details(stack, token, title="Restart", language="en").json()
    captions: list[dict] = []
    room = rtc.Room()

    collect_captions(room, captions)
    await room.connect(stack.livekit_url, details["participantToken"])
    stt = stack.processes["stt"]
    try:
        source = rtc.AudioSource(16000, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        await room.local_participant.publish_track(track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
        audio, utterances = conversation([(v, t) for v, t in ENGLISH[:2]], gap_s=1.5, lead_s=1.0)
        await agent_listening(room)
        player = asyncio.create_task(_play(source, np.concatenate([audio, silence(3.0)])))
        await asyncio.sleep(2.5)  # inside the first sentence
        assert stt.proc is not None
        stt.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(stt.proc.wait)
        await asyncio.to_thread(lambda: stt.start().wait_ready())
        await player
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            finals = [c for c in captions if c["lk.transcription_final"] == "true"]
            if wer(" ".join(u.text for u in utterances), " ".join(f["text"] for f in finals)) <= 0.3:
                break
            await asyncio.sleep(0.5)
    finally:
        await room.disconnect()
    finals = [c for c in captions if c["lk.transcription_final"] == "true"]
    assert wer(" ".join(u.text for u in utterances), " ".join(f["text"] for f in finals)) <= 0.3, finals


async def test_two_participants_speaking_in_turn_get_their_own_labels(stack: Servers) -> None:
    """Alice, then Bob, then Alice again, each on their own microphone track: every final is
    labelled with the participant who spoke it, and the stored transcript keeps that order."""
    from tests.speech import ENGLISH, silence, synth, wer

    alice_token = stack.user_token("turn-alice", "alice@example.com")
    details = _details(stack, alice_token, title="Two people", language="en").json()
    invite = await invite_code(stack, alice_token, details["sessionId"])
    bob_details = _details(
        stack, stack.user_token("turn-bob", "bob@example.com"), session_id=details["sessionId"], invite_code=invite
    ).json()

    captions: list[dict] = []

    alice, bob = rtc.Room(), rtc.Room()
    collect_captions(alice, captions)
    await alice.connect(stack.livekit_url, details["participantToken"])
    await bob.connect(stack.livekit_url, bob_details["participantToken"])
    script = [("alice", ENGLISH[0]), ("bob", ENGLISH[2]), ("alice", ENGLISH[1])]
    try:
        sources = await publish_microphones({"alice": alice, "bob": bob})
        await agent_listening(alice)  # and so subscribes to both
        for name, (voice, text) in script:
            await _play(sources[name], np.concatenate([synth(text, voice), silence(1.2)]))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(c["lk.transcription_final"] == "true" for c in captions) < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        await bob.disconnect()
        await alice.disconnect()

    finals = [c for c in captions if c["lk.transcription_final"] == "true"]
    assert len(finals) == 3, captions
    ordered = sorted(finals, key=lambda f: int(f["intrascribe.start_ms"]))
    sentences = [text for _name, (_voice, text) in script]
    for final, (name, (_voice, text)) in zip(ordered, script, strict=True):
        assert final["sender"] == final["intrascribe.speaker"] == f"user-turn-{name}", final
        assert final["intrascribe.speaker_name"] == f"{name}@example.com"
        # Each final is the sentence its speaker said (nearer to it than to the others) ...
        assert min(sentences, key=lambda said: wer(said, final["text"])) == text, final["text"]
    # ... and the three read as said. (Scored together: a single sentence's WER swings by a whole
    # word group when a loaded machine's jitter buffer stretches a few frames of it.)
    assert wer(" ".join(sentences), " ".join(f["text"] for f in ordered)) <= 0.2, ordered
    async with httpx.AsyncClient(
        base_url=stack.url("api"), headers={"Authorization": f"Bearer {alice_token}"}, timeout=30
    ) as api:
        stored = (await api.get(f"/api/v1/sessions/{details['sessionId']}/transcript", params=LIVE)).json()["segments"]
    assert [s["speaker"] for s in stored] == ["user-turn-alice", "user-turn-bob", "user-turn-alice"]
    # After the meeting, people keep the names they joined with (never their identities).
    assert [s["speaker_name"] for s in stored] == ["alice@example.com", "bob@example.com", "alice@example.com"]


async def test_the_owner_ends_the_meeting_for_everyone_and_nothing_said_is_lost(stack: Servers) -> None:
    """The owner ends the meeting while its last sentence is still being transcribed: both are
    disconnected, the session is completed at once and cannot be joined again, only the owner
    may end it, and the sentence the agent was hearing still reaches the stored transcript."""
    from tests.speech import ENGLISH, silence, synth, wer

    owner_token, guest_token = stack.user_token("end-owner", "owner@example.com"), stack.user_token("end-guest")
    details = _details(stack, owner_token, title="Ended by its owner", language="en").json()
    session_id = details["sessionId"]
    invite = await invite_code(stack, owner_token, session_id)
    guest_details = _details(stack, guest_token, session_id=session_id, invite_code=invite).json()
    owner, guest = rtc.Room(), rtc.Room()
    left = {"owner": asyncio.Event(), "guest": asyncio.Event()}
    owner.on("disconnected", lambda *_: left["owner"].set())
    guest.on("disconnected", lambda *_: left["guest"].set())
    await owner.connect(stack.livekit_url, details["participantToken"])
    await guest.connect(stack.livekit_url, guest_details["participantToken"])
    voice, text = ENGLISH[0]
    async with httpx.AsyncClient(base_url=stack.url("api"), timeout=30) as api:
        try:
            sources = await publish_microphones({"owner": owner})
            await agent_listening(owner)
            await _play(sources["owner"], np.concatenate([synth(text, voice), silence(0.2)]))
            by_guest = await api.post(f"/api/v1/sessions/{session_id}/end", headers={"Authorization": f"Bearer {guest_token}"})
            assert by_guest.status_code == 404  # another user's session looks like a missing one
            ended = await api.post(f"/api/v1/sessions/{session_id}/end", headers={"Authorization": f"Bearer {owner_token}"})
            assert ended.status_code == 200, ended.text
            assert ended.json()["status"] == "completed" and ended.json()["ended_at"] is not None
            await asyncio.wait_for(asyncio.gather(left["owner"].wait(), left["guest"].wait()), timeout=15)
        finally:
            await guest.disconnect()
            await owner.disconnect()
        owner_auth = {"Authorization": f"Bearer {owner_token}"}
        again = await api.post(f"/api/v1/sessions/{session_id}/end", headers=owner_auth)
        assert again.status_code == 409 and "already ended" in again.json()["detail"]
        assert _details(stack, guest_token, session_id=session_id, invite_code=invite).status_code == 409
        deadline, stored = time.monotonic() + 60, list[dict]()
        while time.monotonic() < deadline and not stored:
            stored = (await api.get(f"/api/v1/sessions/{session_id}/transcript", headers=owner_auth)).json()["segments"]
            await asyncio.sleep(0.5)
    assert stored and wer(text, " ".join(s["text"] for s in stored)) <= 0.3, stored
    assert {s["speaker_name"] for s in stored} == {"owner@example.com"}


async def test_the_agent_answers_questions_addressed_to_it_in_the_chat(stack: Servers) -> None:
    """A question typed on lk.chat as "@notes …" gets the agent's reply on lk.chat from the
    transcript so far, citing when it was said and by whom (no model: the matching
    passages); other chat messages get no reply."""
    from shared.service_auth import service_header

    assert stack.secrets is not None
    token = stack.user_token("chat-owner-id", "chat-owner@example.com")
    details = _details(stack, token, title="Chat", language="en").json()
    said = [
        ("user-ana", "Ana", 3_000, "The quarterly budget review is scheduled for Thursday afternoon."),
        ("user-ben", "Ben", 9_000, "We agreed to hire two more engineers for the platform team."),
    ]
    async with httpx.AsyncClient(base_url=stack.url("api"), timeout=30) as api:
        segments = [
            {
                "segment_id": f"chat-{i}",
                "speaker": who,
                "speaker_name": name,
                "start_ms": start,
                "end_ms": start + 4000,
                "text": text,
            }
            for i, (who, name, start, text) in enumerate(said)
        ]
        stored = await api.post(
            f"/internal/v1/sessions/{details['sessionId']}/segments",
            json={"segments": segments},
            headers=service_header("agent", stack.secrets.service_keys),
        )
        assert stored.status_code == 200, stored.text
    replies: list[tuple[str, str]] = []
    room = rtc.Room()

    def on_chat(reader: rtc.TextStreamReader, sender: str) -> None:
        async def read() -> None:
            replies.append((sender, await reader.read_all()))

        asyncio.get_running_loop().create_task(read())

    room.register_text_stream_handler("lk.chat", on_chat)
    await room.connect(stack.livekit_url, details["participantToken"])
    try:
        await agent_listening(room)
        await room.local_participant.send_text("hello everyone, can you hear me?", topic="lk.chat")
        await room.local_participant.send_text("@Notes: when is the budget review?", topic="lk.chat")
        deadline = time.monotonic() + 20
        while not replies and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a reply to the greeting would have come by now
    finally:
        await room.disconnect()
    assert len(replies) == 1, replies
    sender, text = replies[0]
    assert sender.startswith("agent-"), sender
    assert "Thursday afternoon" in text and "[00:03] Ana" in text, text
    assert "engineers" not in text, text  # only the passage that matches


async def test_a_participant_cannot_caption_in_anothers_name(stack: Servers) -> None:
    """Participants may publish data (the chat), so one can send a text stream on
    lk.transcription; LiveKit names its real sender, not the identity it claims: a caption
    never appears in someone else's name (only agents send on behalf of others)."""
    token = stack.user_token("forger-id", "forger@example.com")
    details = _details(stack, token, title="Forgery").json()
    invite = await invite_code(stack, token, details["sessionId"])
    victim = _details(stack, stack.user_token("victim-id"), session_id=details["sessionId"], invite_code=invite).json()
    forger, listener = rtc.Room(), rtc.Room()
    seen: list[str] = []
    listener.register_text_stream_handler("lk.transcription", lambda _reader, sender: seen.append(sender))
    await listener.connect(stack.livekit_url, victim["participantToken"])
    await forger.connect(stack.livekit_url, details["participantToken"])
    try:
        writer = await forger.local_participant.stream_text(
            topic="lk.transcription", sender_identity=victim["participantIdentity"], attributes={"lk.transcription_final": "true"}
        )
        await writer.write("words the victim never said")
        await writer.aclose()
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    finally:
        await forger.disconnect()
        await listener.disconnect()
    assert seen == ["user-forger-id"], seen


async def test_an_invited_participant_may_catch_up_only_while_in_the_meeting(stack: Servers) -> None:
    """Issue 18 §1: the late joiner the brief is for is usually someone invited. They may ask for
    it (and ask questions) while they are in the live meeting, not before joining, not after
    leaving, and never someone who only knows the session id."""
    owner_token = stack.user_token("brief-owner", "brief-owner@example.com")
    guest_token = stack.user_token("brief-guest", "brief-guest@example.com")
    stranger_token = stack.user_token("brief-stranger", "brief-stranger@example.com")
    first = _details(stack, owner_token).json()
    sid = first["sessionId"]
    api = stack.url("api")
    agent = service_header("agent", stack.secrets.service_keys) if stack.secrets else {}
    line = {"segment_id": "b-1", "speaker": "user-brief-owner", "speaker_name": "Olive", "start_ms": 1000, "end_ms": 4000}
    said = {**line, "text": "We decided to move the launch to March."}
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        stored = await http.post(f"/internal/v1/sessions/{sid}/segments", json={"segments": [said]}, headers=agent)
        assert stored.status_code == 200, stored.text
        owner_auth = {"Authorization": f"Bearer {owner_token}"}
        invite = (await http.get(f"/api/v1/sessions/{sid}", headers=owner_auth)).json()["invite_code"]

    async def reads(token: str) -> tuple[int, int]:
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=api, headers=auth, timeout=30) as client:
            brief = await client.get(f"/api/v1/sessions/{sid}/brief")
            ask = await client.post(f"/api/v1/sessions/{sid}/ask", json={"question": "When is the launch?"})
            if brief.status_code == 200:
                assert brief.json()["decisions"][0]["text"] == "We decided to move the launch to March."
                assert "March" in ask.json()["answer"]
            return brief.status_code, ask.status_code

    second = _details(stack, guest_token, session_id=sid, invite_code=invite).json()
    owner, guest = rtc.Room(), rtc.Room()
    await owner.connect(stack.livekit_url, first["participantToken"])
    try:
        assert await reads(guest_token) == (404, 404)  # invited, not in the meeting yet
        await guest.connect(stack.livekit_url, second["participantToken"])
        assert await reads(guest_token) == (200, 200)
        assert await reads(stranger_token) == (404, 404)
        assert await reads(owner_token) == (200, 200)
        await guest.disconnect()
        deadline = asyncio.get_running_loop().time() + 20
        while await reads(guest_token) != (404, 404):  # LiveKit drops a participant who left within moments
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.5)
    finally:
        await guest.disconnect()
        await owner.disconnect()


async def test_a_finished_meeting_is_shared_with_those_who_joined_when_the_owner_allows(stack: Servers) -> None:
    """Issue 18 §2: after the meeting, the people who joined it through the invite read its
    transcript and summary only while the owner shares it (off by default); someone the owner
    removed from the room, a stranger and anyone after sharing is turned off get the 404 of a
    missing session, and a participant can change nothing."""
    owner_token = stack.user_token("share-owner", "share-owner@example.com")
    guest_token = stack.user_token("share-guest", "share-guest@example.com")
    removed_token = stack.user_token("share-removed", "share-removed@example.com")
    stranger_token = stack.user_token("share-stranger", "share-stranger@example.com")
    first = _details(stack, owner_token, title="Shared retro", language="en").json()
    sid = first["sessionId"]
    invite = await invite_code(stack, owner_token, sid)
    guest = _details(stack, guest_token, session_id=sid, invite_code=invite, participant_name="Gus").json()
    assert guest["participantIdentity"] == "user-share-guest"  # joined through the invite: a participant from now on
    removed = _details(stack, removed_token, session_id=sid, invite_code=invite).json()
    agent = service_header("agent", stack.secrets.service_keys) if stack.secrets else {}
    line = {"segment_id": "sh-1", "speaker": "user-share-owner", "speaker_name": "Olive", "start_ms": 1000, "end_ms": 4000}
    said = {**line, "text": "We agreed to ship the retro notes on Monday."}
    rooms = {"owner": rtc.Room(), "removed": rtc.Room()}
    gone = asyncio.Event()
    rooms["removed"].on("disconnected", lambda *_: gone.set())
    await rooms["owner"].connect(stack.livekit_url, first["participantToken"])
    await rooms["removed"].connect(stack.livekit_url, removed["participantToken"])

    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async with httpx.AsyncClient(base_url=stack.url("api"), timeout=30) as api:
        try:
            assert (
                await api.post(f"/internal/v1/sessions/{sid}/segments", json={"segments": [said]}, headers=agent)
            ).status_code == 200
            out = await api.delete(
                f"/api/v1/sessions/{sid}/participants/{removed['participantIdentity']}", headers=auth(owner_token)
            )
            assert out.status_code == 204, out.text
            await asyncio.wait_for(gone.wait(), timeout=15)
            assert (await api.post(f"/api/v1/sessions/{sid}/end", headers=auth(owner_token))).status_code == 200
        finally:
            for room in rooms.values():
                await room.disconnect()
        summary = await api.post(f"/api/v1/sessions/{sid}/summaries", json={}, headers=auth(owner_token), timeout=60)
        assert summary.status_code == 201, summary.text

        async def reads(token: str) -> tuple[int, int]:
            view = await api.get(f"/api/v1/shared/{sid}", headers=auth(token))
            lines = await api.get(f"/api/v1/shared/{sid}/transcript", headers=auth(token))
            return view.status_code, lines.status_code

        async def share(on: bool) -> None:
            answer = await api.patch(f"/api/v1/sessions/{sid}", json={"share_with_participants": on}, headers=auth(owner_token))
            assert answer.status_code == 200 and answer.json()["share_with_participants"] is on, answer.text

        assert await reads(guest_token) == (404, 404)  # off by default
        await share(True)
        assert await reads(guest_token) == (200, 200)
        theirs = (await api.get(f"/api/v1/shared/{sid}/transcript", headers=auth(guest_token))).json()
        owners = (await api.get(f"/api/v1/sessions/{sid}/transcript", headers=auth(owner_token))).json()
        assert [s["text"] for s in theirs["segments"]] == [s["text"] for s in owners["segments"]] == [said["text"]]
        view = (await api.get(f"/api/v1/shared/{sid}", headers=auth(guest_token))).json()
        assert view["title"] == "Shared retro" and view["summary"]["markdown"] == summary.json()["markdown"]
        assert "invite_code" not in view
        assert await reads(stranger_token) == (404, 404)
        assert await reads(removed_token) == (404, 404)
        taken = await api.patch(f"/api/v1/sessions/{sid}", json={"title": "Taken"}, headers=auth(guest_token))
        deleted = await api.delete(f"/api/v1/sessions/{sid}", headers=auth(guest_token))
        assert taken.status_code == deleted.status_code == 404, (taken.text, deleted.text)
        await share(False)
        assert await reads(guest_token) == (404, 404)
