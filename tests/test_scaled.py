"""The scaled topology (devstack/topology.py) at scale 2, with its parts killed: two of every
service behind HAProxy, two LiveKit nodes sharing Redis, PostgreSQL."""

from __future__ import annotations

import os
import signal
import time
import urllib.request

import httpx
import pytest

from devstack.procs import ManagedProcess
from devstack.pytest_plugin import Servers
from tests.speech import meeting, normalize, wer
from tests.test_batch import flac

pytestmark = [pytest.mark.e2e]


def balancer_view(stack: Servers) -> dict[str, str]:
    """``server name -> status`` as HAProxy's CSV stats report it."""
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.topology.balancer_stats}/stats;csv", timeout=5) as resp:
        rows = resp.read().decode().splitlines()
    header = rows[0].lstrip("# ").split(",")
    cells = [dict(zip(header, row.split(","), strict=False)) for row in rows[1:]]
    return {c["svname"]: c["status"] for c in cells if c["svname"] not in ("FRONTEND", "BACKEND")}


def kill(process: ManagedProcess) -> None:
    """SIGKILL the process and its children (a crashed machine, not a shutdown)."""
    assert process.pid is not None and process.proc is not None
    os.killpg(process.pid, signal.SIGKILL)
    process.proc.wait()


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
