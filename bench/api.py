"""API benchmark: p50/p99 latency and throughput with 50 concurrent clients listing sessions and
reading a one-hour transcript (SQLite and PostgreSQL), and summary latency against the local
test LLM server (so the figure is our own overhead: prompt building, validation, storage)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml

from bench.common import pct, write_results
from devstack.components import StackPorts, StackSecrets, postgres_server, python_service, redis_server, service_env
from devstack.procs import ManagedProcess, free_port
from shared.service_auth import service_header
from tests.llm_server import FakeLLM

CLIENTS = 50
STREAMS = 200  # open live-event streams (server-sent events) during the second listing round


async def hammer(client: httpx.AsyncClient, path: str, total: int) -> dict[str, float]:
    latencies: list[float] = []
    queue = iter(range(total))

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            response = await client.get(path)
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    wall = time.perf_counter() - started
    return {
        "p50_ms": round(pct(latencies, 50) * 1000, 1),
        "p99_ms": round(pct(latencies, 99) * 1000, 1),
        "requests_per_s": round(total / wall, 1),
    }


async def sequential_p50_ms(client: httpx.AsyncClient, path: str, total: int = 40) -> float:
    latencies = []
    for _ in range(total):
        started = time.perf_counter()
        (await client.get(path)).raise_for_status()
        latencies.append(time.perf_counter() - started)
    return round(pct(latencies, 50) * 1000, 1)


async def listing_with_open_streams(
    api: str, headers: dict[str, str], client: httpx.AsyncClient, session_id: str
) -> dict[str, float]:
    """One client listing sessions, alone and with STREAMS event streams open (each used to hold
    a database connection for its whole life)."""
    idle = await sequential_p50_ms(client, "/api/v1/sessions/?limit=20")
    async with httpx.AsyncClient(
        base_url=api, headers=headers, timeout=60, limits=httpx.Limits(max_connections=STREAMS + 10)
    ) as streams:
        opened = []
        try:
            for _ in range(STREAMS):
                request = streams.build_request("GET", f"/api/v1/realtime/sessions/{session_id}/events")
                opened.append(await streams.send(request, stream=True))
            busy = await sequential_p50_ms(client, "/api/v1/sessions/?limit=20")
        finally:
            await asyncio.gather(*(r.aclose() for r in opened))
    return {"idle_p50_ms": idle, "with_streams_p50_ms": busy, "ratio": round(busy / idle, 2)}


async def run(api: str, keys: StackSecrets) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=api, timeout=60) as anon:
        token = (
            await anon.post("/api/v1/auth/signup", json={"email": f"{uuid.uuid4().hex[:8]}@b.com", "password": "bench-password"})
        ).json()
    agent = service_header("agent", keys.service_keys)
    async with httpx.AsyncClient(
        base_url=api,
        timeout=120,
        headers={"Authorization": f"Bearer {token['access_token']}"},
        limits=httpx.Limits(max_connections=CLIENTS),
    ) as client:
        for n in range(200):
            await client.post("/api/v1/sessions/", json={"title": f"Meeting {n}"})
        hour = (await client.post("/api/v1/sessions/", json={"title": "One hour"})).json()["id"]
        segments = [
            {
                "segment_id": f"s{n}",
                "speaker": f"SPEAKER_0{n % 4}",
                "start_ms": n * 4000,
                "end_ms": n * 4000 + 3800,
                "text": "We reviewed the quarterly budget and agreed on the next steps for the team.",
                "words": [
                    {"start_ms": n * 4000 + i * 300, "end_ms": n * 4000 + i * 300 + 250, "text": f" w{i}"} for i in range(13)
                ],
            }
            for n in range(900)
        ]
        for i in range(0, 900, 300):
            (
                await client.post(
                    f"/internal/v1/sessions/{hour}/segments", json={"segments": segments[i : i + 300]}, headers=agent
                )
            ).raise_for_status()
        listing = await hammer(client, "/api/v1/sessions/?limit=20", 2000)
        transcript = await hammer(client, f"/api/v1/sessions/{hour}/transcript", 300)
        short = (await client.post("/api/v1/sessions/", json={"title": "Summary"})).json()["id"]
        await client.post(f"/internal/v1/sessions/{short}/segments", json={"segments": segments[:60]}, headers=agent)
        latencies = []
        for _ in range(10):
            started = time.perf_counter()
            (await client.post(f"/api/v1/sessions/{short}/summaries", json={})).raise_for_status()
            latencies.append(time.perf_counter() - started)
        # Last: the streams' server side notices the disconnect only at its next keep-alive.
        streams = await listing_with_open_streams(api, dict(client.headers), client, hour)
    return {
        "list_sessions": listing,
        "list_with_open_streams": streams,
        "read_1h_transcript": transcript,
        "summary_overhead": {"p50_ms": round(pct(latencies, 50) * 1000, 1), "p99_ms": round(pct(latencies, 99) * 1000, 1)},
    }


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    keys = StackSecrets()
    redis_port, pg_port = free_port(), free_port()
    pg_dir = Path(tempfile.mkdtemp(prefix="intrascribe-pg-"))
    infra: list[ManagedProcess] = [redis_server(redis_port, workdir / "redis"), postgres_server(pg_port, pg_dir)]
    results: dict[str, Any] = {}
    with FakeLLM() as llm:
        (workdir / "llm.yaml").write_text(
            yaml.safe_dump({"models": [{"model": "openai/good", "api_base": llm.url, "api_key_env": "PATH"}]})
        )
        for proc in infra:
            proc.start()
        try:
            for proc in infra:
                proc.wait_ready()
            with psycopg.connect(f"postgresql://postgres@127.0.0.1:{pg_port}/postgres", autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            for name, url in (
                ("sqlite", f"sqlite+aiosqlite:///{workdir}/db.sqlite"),
                ("postgres", f"postgresql+asyncpg://postgres@127.0.0.1:{pg_port}/bench"),
            ):
                port = free_port()
                env = {
                    **service_env(StackPorts(), keys),
                    "API_PORT": str(port),
                    "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                    "DATABASE_URL": url,
                    "LLM_CONFIG_FILE": str(workdir / "llm.yaml"),
                    "AUTH_RATE_LIMIT_PER_MINUTE": "100000",
                }
                api = python_service(f"api-{name}", "api_service", env, f"http://127.0.0.1:{port}/health/ready", workdir)
                api.start().wait_ready()
                try:
                    results[name] = asyncio.run(run(f"http://127.0.0.1:{port}", keys))
                finally:
                    api.stop()
        finally:
            for proc in reversed(infra):
                proc.stop()
            shutil.rmtree(pg_dir, ignore_errors=True)
    table = []
    for db, r in results.items():
        for what in ("list_sessions", "read_1h_transcript"):
            table.append((db, what.replace("_", " "), r[what]["p50_ms"], r[what]["p99_ms"], r[what]["requests_per_s"]))
        table.append((db, "summary (our overhead)", r["summary_overhead"]["p50_ms"], r["summary_overhead"]["p99_ms"], ""))
        s = r["list_with_open_streams"]
        table.append((db, "list sessions, 1 client, idle", s["idle_p50_ms"], "", ""))
        table.append((db, f"list sessions, 1 client, {STREAMS} event streams open", s["with_streams_p50_ms"], "", ""))
    write_results(
        "api", {"clients": CLIENTS, "results": results}, table, ("database", f"{CLIENTS} clients", "p50 ms", "p99 ms", "req/s")
    )
