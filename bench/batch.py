"""Batch transcription benchmark through the real services (API, worker, STT, diarization,
Redis): wall time and RTF from upload to a completed, speaker-attributed transcript for 10- and
60-minute recordings and for two 10-minute jobs at once; peak memory of each process."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.common import peak_rss_mb, write_results
from devstack.components import StackPorts, StackSecrets, redis_server, service_processes
from devstack.procs import ManagedProcess
from shared.audio import SAMPLE_RATE
from tests.speech import meeting, wav_bytes


def recording(minutes: int, seed: int) -> bytes:
    pieces, total, n = [], 0, 0
    while total < minutes * 60 * SAMPLE_RATE:
        audio, _ = meeting(4, 16, seed=seed * 1000 + n)
        pieces.append(audio)
        total += audio.size
        n += 1
    audio = np.concatenate(pieces)[: minutes * 60 * SAMPLE_RATE]
    return subprocess.run(
        ["sox", "-t", "wav", "-", "-t", "flac", "-"], input=wav_bytes(audio), capture_output=True, check=True
    ).stdout


def run_jobs(api: str, auth: dict[str, str], files: list[bytes]) -> list[dict[str, Any]]:
    started = time.monotonic()
    jobs = []
    for data in files:
        response = httpx.post(
            f"{api}/api/v1/transcriptions/batch", files={"audio_file": ("m.flac", data)}, headers=auth, timeout=600
        )
        response.raise_for_status()
        jobs.append(response.json()["job_id"])
    done: dict[str, float] = {}
    while len(done) < len(jobs):
        for job_id in jobs:
            if job_id not in done:
                job = httpx.get(f"{api}/api/v1/jobs/{job_id}", headers=auth).json()
                if job["status"] != "queued" and job["status"] != "running":
                    assert job["status"] == "completed", job
                    done[job_id] = time.monotonic() - started
        time.sleep(1)
    return [{"job_id": j, "wall_s": round(done[j], 1)} for j in jobs]


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    ports, keys = StackPorts.free(), StackSecrets()
    procs: dict[str, ManagedProcess] = {"redis": redis_server(ports.redis, workdir / "redis")}
    services = service_processes(ports, keys, workdir)
    procs.update({name: services[name] for name in ("stt", "diarization", "api", "worker")})
    for proc in procs.values():
        proc.start()
    try:
        for proc in procs.values():
            proc.wait_ready()
        api = f"http://127.0.0.1:{ports.api}"
        token = httpx.post(f"{api}/api/v1/auth/signup", json={"email": "bench@example.com", "password": "benchmark-pass"}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        ten, hour = recording(10, 1), recording(60, 2)
        ten_b = recording(10, 3)
        results = {
            "10 min": run_jobs(api, auth, [ten])[0] | {"audio_s": 600},
            "2 × 10 min at once": {"jobs": run_jobs(api, auth, [ten, ten_b]), "audio_s": 1200},
            "60 min": run_jobs(api, auth, [hour])[0] | {"audio_s": 3600},
        }
        results["2 × 10 min at once"]["wall_s"] = max(j["wall_s"] for j in results["2 × 10 min at once"]["jobs"])
        memory = {name: peak_rss_mb(procs[name].pid or 0) for name in ("api", "worker", "stt", "diarization")}
    finally:
        for proc in reversed(list(procs.values())):
            proc.stop()
    for r in results.values():
        r["rtf"] = round(r["wall_s"] / r["audio_s"], 3)
    table = [(name, r["audio_s"] / 60, r["wall_s"], r["rtf"]) for name, r in results.items()]
    table.append(("peak RSS MB: " + ", ".join(f"{k} {v}" for k, v in memory.items()), "", "", ""))
    write_results("batch", {"results": results, "peak_rss_mb": memory}, table, ("recording", "minutes", "wall s", "RTF"))
