"""The agent's durable outbox against a small real HTTP server standing in for the API's internal
routes: entries are delivered in order and exactly as written while the server is down for a
while, a job that ends with entries left is delivered by the sweeper, and refused entries are
kept aside rather than retried for ever."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agent_service.outbox import REFUSED, STAGING_PREFIX, STAGING_STALE_S, Outbox, sweep
from devstack.procs import free_port
from shared.clients import InternalApiClient
from shared.contracts.internal import RecordingStored, SegmentBatch, SegmentsStored, StatusChange, StatusOut

pytestmark = [pytest.mark.unit]


class FakeAPI:
    """What the API's internal routes received, answered as the API answers; 503 while ``up``
    is False."""

    def __init__(self) -> None:
        self.up = True
        self.calls: list[tuple[str, Any]] = []
        self.app = FastAPI()

        @self.app.post("/internal/v1/sessions/{session_id}/{what}")
        async def receive(session_id: str, what: str, request: Request) -> Any:
            if not self.up:
                return JSONResponse({"detail": "down"}, status_code=503)
            if session_id == "gone":
                return JSONResponse({"detail": "session not found"}, status_code=404)
            body = await request.body()
            if what == "recordings":
                self.calls.append((what, (dict(request.query_params), len(body), body[:4])))
                return RecordingStored(id="rec-1", duration_ms=(len(body) - 44) // 32)
            self.calls.append((what, await request.json()))
            if what == "segments":
                return SegmentsStored(stored=len(SegmentBatch.model_validate_json(body).segments), duplicates=0)
            return StatusOut(status=StatusChange.model_validate_json(body).status)


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeAPI, str]]:
    api = FakeAPI()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api.app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield api, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def client(url: str) -> InternalApiClient:
    return InternalApiClient(url, caller="agent", retries=0, timeout=5, upload_timeout=30)


def segment(n: int) -> dict[str, Any]:
    return {"segment_id": f"seg-{n}", "speaker": "alice", "start_ms": n * 1000, "end_ms": n * 1000 + 900, "text": f"line {n}"}


async def test_entries_wait_out_an_outage_and_arrive_in_order(fake: tuple[FakeAPI, str], tmp_path: Path) -> None:
    api, url = fake
    api.calls.clear()
    api_client = client(url)
    outbox = Outbox(tmp_path, "s1", api_client)
    assert outbox.lock(blocking=False)
    api.up = False
    outbox.start()
    outbox.put("status", {"status": "live"})
    for n in range(3):
        outbox.put("segments", {"segments": [segment(n)]})
    recording = outbox.dir / "rec-alice.part"  # the track transcriber writes it in the outbox's folder
    recording.write_bytes(b"\x01\x00" * 16000)
    outbox.put("recording", {"track": "alice", "offset_ms": 0}, recording=recording)
    outbox.put("segments", {"segments": [segment(3)]})
    outbox.put("status", {"status": "completed", "duration_ms": 4000})
    await asyncio.sleep(2.5)  # a few failed attempts
    assert api.calls == [] and outbox.pending() == 7
    api.up = True
    assert await outbox.drain(within_s=40)
    kinds = [what for what, _ in api.calls]
    assert kinds == ["status", "segments", "recordings", "segments", "status"]  # the three finals went in one call
    assert [s["segment_id"] for s in api.calls[1][1]["segments"]] == ["seg-0", "seg-1", "seg-2"]
    params, size, head = api.calls[2][1]
    assert params == {"track": "alice", "offset_ms": "0"} and size == 44 + 32000 and head == b"RIFF"
    assert api.calls[-1][1] == {"status": "completed", "duration_ms": 4000}
    await outbox.aclose()
    outbox.remove_if_empty()
    assert not outbox.dir.exists()
    await api_client.aclose()


async def test_what_a_finished_job_left_is_delivered_by_the_sweeper(fake: tuple[FakeAPI, str], tmp_path: Path) -> None:
    api, url = fake
    api.calls.clear()
    api_client = client(url)
    api.up = False
    job = Outbox(tmp_path, "s2", api_client)
    job.lock()
    job.start()
    job.put("segments", {"segments": [segment(7)]})
    job.put("status", {"status": "completed"})
    assert not await job.drain(within_s=0.5)
    sweeper = asyncio.create_task(sweep(tmp_path, api_client, interval_s=0.2))
    await asyncio.sleep(1.0)
    assert api.calls == []  # the job still holds its outbox
    await job.aclose()  # the job process ends: its lock goes with it
    api.up = True
    deadline = time.monotonic() + 20
    while job.dir.exists() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    sweeper.cancel()
    await asyncio.gather(sweeper, return_exceptions=True)
    assert [what for what, _ in api.calls] == ["segments", "status"]
    assert not job.dir.exists()
    await api_client.aclose()


async def test_a_refused_entry_is_kept_aside_and_the_rest_goes_on(fake: tuple[FakeAPI, str], tmp_path: Path) -> None:
    api, url = fake
    api.up = True
    api_client = client(url)
    outbox = Outbox(tmp_path, "gone", api_client)
    outbox.lock()
    outbox.start()
    outbox.put("segments", {"segments": [segment(1)]})
    assert await outbox.drain(within_s=10)
    kept = list((tmp_path / REFUSED / outbox.dir.name).glob("*.json"))
    assert len(kept) == 1 and "seg-1" in kept[0].read_text()
    await outbox.aclose()
    await api_client.aclose()


async def test_a_new_outbox_is_its_jobs_before_any_sweep_can_see_it(tmp_path: Path) -> None:
    """A sweep running while jobs start never finds a new outbox free (and empty, so removed)."""
    api_client = client("http://127.0.0.1:9")
    sweeper = asyncio.create_task(sweep(tmp_path, api_client, interval_s=0))
    outboxes = []
    for n in range(200):
        outboxes.append(outbox := Outbox(tmp_path, f"s{n}", api_client))
        seen_by_a_sweep = Outbox(tmp_path, outbox.session_id, api_client, directory=outbox.dir)
        assert not seen_by_a_sweep.lock(blocking=False)
        await seen_by_a_sweep.aclose()
        await asyncio.sleep(0)  # the sweep runs between jobs
        outbox.put("status", {"status": "live"})
    sweeper.cancel()
    await asyncio.gather(sweeper, return_exceptions=True)
    assert all(outbox.pending() == 1 for outbox in outboxes)
    assert sorted(p.name for p in os.scandir(tmp_path)) == sorted(outbox.dir.name for outbox in outboxes)
    for outbox in outboxes:
        await outbox.aclose()
    await api_client.aclose()


async def test_the_sweeper_removes_a_new_outbox_its_job_died_making_and_only_that(tmp_path: Path) -> None:
    api_client = client("http://127.0.0.1:9")
    stale, fresh = tmp_path / f"{STAGING_PREFIX}dead", tmp_path / f"{STAGING_PREFIX}starting"
    for path in (stale, fresh):
        path.mkdir()
        (path / ".lock").touch()
    old = time.time() - STAGING_STALE_S - 5
    os.utime(stale, (old, old))
    kept = Outbox(tmp_path, "s1", api_client)
    sweeper = asyncio.create_task(sweep(tmp_path, api_client, interval_s=0.05))
    await asyncio.sleep(0.3)
    sweeper.cancel()
    await asyncio.gather(sweeper, return_exceptions=True)
    assert sorted(p.name for p in os.scandir(tmp_path)) == sorted([fresh.name, kept.dir.name])
    await kept.aclose()
    await api_client.aclose()
