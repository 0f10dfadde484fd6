"""The scaled topology (devstack/topology.py) at scale 2, with its parts killed: two of every
service behind HAProxy, two LiveKit nodes sharing Redis, PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import urllib.request

import httpx
import numpy as np
import pytest
from livekit import rtc

from devstack.procs import ManagedProcess
from devstack.pytest_plugin import Servers
from tests.speech import EVAL_ENGLISH, conversation, meeting, normalize, silence, wer
from tests.test_batch import flac
from tests.test_stack_e2e import LIVE, _details, _play, agent_listening, collect_captions, publish_microphones

pytestmark = [pytest.mark.e2e]


def balancer_servers(stack: Servers) -> list[dict[str, str]]:
    """The servers' rows of HAProxy's CSV statistics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.topology.balancer_stats}/stats;csv", timeout=5) as resp:
        rows = resp.read().decode().splitlines()
    header = rows[0].lstrip("# ").split(",")
    cells = [dict(zip(header, row.split(","), strict=False)) for row in rows[1:]]
    return [c for c in cells if c["svname"] not in ("FRONTEND", "BACKEND")]


def balancer_view(stack: Servers) -> dict[str, str]:
    """``server name -> status`` as the balancer sees it."""
    return {c["svname"]: c["status"] for c in balancer_servers(stack)}


def kill(process: ManagedProcess) -> None:
    """SIGKILL the process and its children (a crashed machine, not a shutdown)."""
    assert process.pid is not None and process.proc is not None
    os.killpg(process.pid, signal.SIGKILL)
    process.proc.wait()


def restart(process: ManagedProcess) -> None:
    process.start().wait_ready()


def test_every_replica_is_ready_and_balanced(scaled_stack: Servers) -> None:
    ports = scaled_stack.topology.health_ports(scaled_stack.ports)  # type: ignore[arg-type]
    assert {"api-1", "api-2", "stt-1", "stt-2", "worker-1", "worker-2", "agent-1", "agent-2"} <= set(ports)
    for name, port in ports.items():
        assert httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5).status_code == 200, name
    deadline = time.monotonic() + 10
    while (view := balancer_view(scaled_stack)) and any(status != "UP" for status in view.values()):
        assert time.monotonic() < deadline, view
        time.sleep(0.5)
    assert set(view) == {f"{s}-{i}" for s in ("api", "stt", "diarization", "livekit") for i in (1, 2)}
    # Both API replicas answer through the balancer, and share one database.
    served = {httpx.get(f"{scaled_stack.url('api')}/health", timeout=5).json()["service"] for _ in range(4)}
    assert served == {"api"}


async def test_a_live_meeting_survives_its_stt_replica_and_an_api_replica(scaled_stack: Servers) -> None:
    """Mid-sentence, the STT replica holding the agent's stream and one API replica are
    SIGKILLed: the stream reconnects through the balancer to the other STT replica, the resend
    buffer replays the audio, finals go on being stored through the other API replica, and
    nothing said is lost. Both are started again for the tests after this one."""
    stack, procs = scaled_stack, scaled_stack.processes
    token = stack.user_token("live-kill-id", "live-kill@example.com")
    details = _details(stack, token, title="Replicas killed", language="en").json()
    captions: list[dict] = []
    room = rtc.Room()
    collect_captions(room, captions)
    await room.connect(stack.livekit_url, details["participantToken"])
    audio, utterances = conversation(EVAL_ENGLISH[:4], gap_s=1.0, lead_s=0.5)
    said = " ".join(u.text for u in utterances)
    try:
        source = (await publish_microphones({"speaker": room}))["speaker"]
        await agent_listening(room)
        player = asyncio.create_task(_play(source, np.concatenate([audio, silence(3.0)])))
        await asyncio.sleep(2.5)  # inside the first sentence
        # The replica that holds the stream: the one with an open session at the balancer.
        streaming = [
            c["svname"] for c in await asyncio.to_thread(balancer_servers, stack) if c["pxname"] == "stt" and int(c["scur"]) > 0
        ]
        assert len(streaming) == 1, streaming
        for name in (streaming[0], "api-1"):
            await asyncio.to_thread(kill, procs[name])
        await player
        deadline = time.monotonic() + 90
        while wer(said, " ".join(c["text"] for c in finals_of(captions))) > 0.25 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
    finally:
        await room.disconnect()
    heard = " ".join(c["text"] for c in finals_of(captions))
    assert wer(said, heard) <= 0.25, heard
    async with httpx.AsyncClient(base_url=stack.url("api"), headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        stored = (await api.get(f"/api/v1/sessions/{details['sessionId']}/transcript", params=LIVE)).json()["segments"]
    ids = [s["segment_id"] for s in stored]
    assert len(ids) == len(set(ids)), ids
    assert wer(said, " ".join(s["text"] for s in stored)) <= 0.25, stored
    for name in (streaming[0], "api-1"):
        await asyncio.to_thread(restart, procs[name])


def test_a_batch_job_survives_its_worker_an_stt_replica_and_an_api_replica(scaled_stack: Servers) -> None:
    """worker-2 is stopped while the upload is taken, so worker-1 has the job; then worker-1,
    stt-1 and api-1 are killed mid-job. worker-2 finishes it through the surviving replicas."""
    stack, procs = scaled_stack, scaled_stack.processes
    auth = {"Authorization": f"Bearer {stack.user_token('scaled-id', 'scaled@example.com')}"}
    api = httpx.Client(base_url=stack.url("api"), headers=auth, timeout=60)
    audio, turns = meeting(2, 24, seed=5)
    procs["worker-2"].stop()
    job_id = api.post("/api/v1/transcriptions/batch", files={"audio_file": ("m.flac", flac(audio))}).json()["job_id"]
    deadline = time.monotonic() + 90
    while api.get(f"/api/v1/jobs/{job_id}").json()["stage"] not in ("transcribe", "align"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    procs["worker-2"].start().wait_ready()
    for name in ("worker-1", "stt-1", "api-1"):
        kill(procs[name])
    # Every request from here on goes through the balancer and must succeed.
    deadline = time.monotonic() + 300
    while (job := api.get(f"/api/v1/jobs/{job_id}")).json()["status"] not in ("completed", "failed", "cancelled"):
        assert job.status_code == 200, job.text
        assert time.monotonic() < deadline, job.json()
        time.sleep(0.5)
    assert job.json()["status"] == "completed", job.json()
    segments = api.get(f"/api/v1/sessions/{job.json()['session_id']}/transcript").json()["segments"]
    ids = [s["segment_id"] for s in segments]
    assert ids and len(ids) == len(set(ids))
    reference = " ".join(t.text for t in turns)
    assert wer(reference, " ".join(s["text"] for s in segments)) <= 0.2
    assert normalize(turns[-1].text).split()[-1] in normalize(segments[-1]["text"]).split()
    assert balancer_view(stack)["api-1"].startswith("DOWN") and balancer_view(stack)["stt-1"].startswith("DOWN")


def finals_of(captions: list[dict], since: float = 0.0) -> list[dict]:
    return [c for c in captions if c["lk.transcription_final"] == "true" and c["t"] >= since]


async def test_captions_resume_when_the_agent_worker_is_killed(scaled_stack: Servers) -> None:
    """The agent worker transcribing a meeting is SIGKILLed mid-sentence. Its room job's heartbeat
    stops, the batch worker's watcher dispatches the room again, and the other worker takes it:
    captions resume within 10 s, every sentence spoken from then on is stored once, on the
    session clock after what was stored before."""
    stack = scaled_stack
    token = stack.user_token("agent-kill-id", "agent-kill@example.com")
    details = _details(stack, token, title="Agent killed", language="en").json()
    captions: list[dict] = []
    room = rtc.Room()
    collect_captions(room, captions)
    await room.connect(stack.livekit_url, details["participantToken"])
    try:
        source = (await publish_microphones({"speaker": room}))["speaker"]
        await agent_listening(room)
        first, _ = conversation([EVAL_ENGLISH[0]], gap_s=1.5)
        await _play(source, first)
        deadline = time.monotonic() + 30
        while not finals_of(captions) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        assert finals_of(captions), "no caption before the kill"
        rooms = {n: await asyncio.to_thread(rooms_of, stack, n) for n in stack.topology.names("agent")}
        assert sorted(count or 0 for count in rooms.values()) == [0, 1], rooms
        victim = next(n for n, count in rooms.items() if count == 1)

        audio, utterances = conversation(EVAL_ENGLISH[1:], gap_s=1.0, lead_s=0.2)
        player = asyncio.create_task(_play(source, np.concatenate([audio, silence(2.0)])))
        started = time.monotonic()
        await asyncio.sleep(1.5)  # inside the next sentence
        killed = time.monotonic()
        await asyncio.to_thread(kill, stack.processes[victim])
        # The killed job's STT streams; a caption of another stream is the new job's.
        old_streams = {stream_of(c["lk.segment_id"]) for c in captions}
        while time.monotonic() < killed + 30 and not [c for c in captions if stream_of(c["lk.segment_id"]) not in old_streams]:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        resumed = min((c["t"] for c in captions if stream_of(c["lk.segment_id"]) not in old_streams), default=float("inf"))
        await player
        # Sentences that began after captions resumed: all of them must come back.
        after = [u for u in utterances if started + u.start_s >= resumed]
        reference = " ".join(u.text for u in after)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            heard = " ".join(c["text"] for c in finals_of(captions, resumed))
            if after and wer(reference, heard) <= 0.25:
                break
            await asyncio.sleep(0.5)
    finally:
        await room.disconnect()
    assert resumed - killed <= 10, f"captions resumed {resumed - killed:.1f} s after the kill"
    assert len(after) >= 3, (resumed - started, utterances)
    assert rooms_of(stack, victim) is None

    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=stack.url("api"), headers=auth, timeout=30) as api:
        stored = (await api.get(f"/api/v1/sessions/{details['sessionId']}/transcript", params=LIVE)).json()["segments"]
    old = [s for s in stored if stream_of(s["segment_id"]) in old_streams]
    new = [s for s in stored if stream_of(s["segment_id"]) not in old_streams]
    assert old and new, stored
    # The new job continues the session clock: its segments follow the earlier ones.
    assert min(s["start_ms"] for s in new) >= max(s["end_ms"] for s in old), stored
    # Everything said after resumption is stored, and once: the new job's text reads as what was
    # said after the sentence the kill cut (or from it, if the new job heard its end), by WER, in
    # which a repeat would count as errors.
    cut = max(i for i, u in enumerate(utterances) if started + u.start_s < resumed)
    heard = " ".join(s["text"] for s in new)
    errors = [wer(" ".join(u.text for u in utterances[i:]), heard) for i in (cut, cut + 1)]
    assert min(errors) <= 0.3, (errors, heard)


def stream_of(segment_id: str) -> str:
    """The STT stream a segment id belongs to (``<stream>-<n>-<segment>``)."""
    return segment_id.rsplit("-", 2)[0]


def rooms_of(stack: Servers, name: str) -> int | None:
    """The rooms an agent worker reports, None when it does not answer."""
    port = stack.topology.health_ports(stack.ports)[name]  # type: ignore[arg-type]
    try:
        return int(httpx.get(f"http://127.0.0.1:{port}/info", timeout=2).json()["rooms"])
    except httpx.HTTPError:
        return None


async def test_new_meetings_go_to_the_other_livekit_node(scaled_stack: Servers) -> None:
    """One LiveKit node is stopped: the balancer takes it out, the agent workers register again
    through the balancer with the other node, and a new meeting there is transcribed."""
    stack = scaled_stack
    await asyncio.to_thread(stack.processes["livekit-1"].stop)
    deadline = time.monotonic() + 20
    while balancer_view(stack)["livekit-1"] == "UP":
        assert time.monotonic() < deadline, balancer_view(stack)
        await asyncio.sleep(0.5)
    token = stack.user_token("one-node-id", "one-node@example.com")
    details = _details(stack, token, title="One node left", language="en").json()
    captions: list[dict] = []
    room = rtc.Room()
    collect_captions(room, captions)
    await room.connect(stack.livekit_url, details["participantToken"])
    try:
        source = (await publish_microphones({"speaker": room}))["speaker"]
        await agent_listening(room, timeout_s=90)
        audio, [utterance] = conversation([EVAL_ENGLISH[0]], gap_s=1.5)
        await _play(source, audio)
        deadline = time.monotonic() + 30
        while not finals_of(captions) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        await room.disconnect()
    assert wer(utterance.text, " ".join(c["text"] for c in finals_of(captions))) <= 0.3, captions
