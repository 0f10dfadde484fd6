"""How soon the agent listens when meetings start together: N rooms each publish a microphone at
the same moment, and each waits for the agent's subscription (from publishing the track). Per
setting of ``AGENT_IDLE_PROCESSES`` (job processes kept warm): 1, 8 and 16 rooms at once, and
what the warm processes cost in memory while no meeting runs. Nobody speaks: this is start-up
only (bench/live measures captions)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import pct, write_results
from bench.live import join_room, usage
from devstack.components import StackPorts, StackSecrets, livekit_server, redis_server
from devstack.topology import service_processes

IDLE_PROCESSES = (2, 8)
ROOMS = (1, 8, 16)


async def burst(api: str, livekit: str, secret: str, rooms: int, tag: str) -> list[float]:
    """``rooms`` meetings started together; each one's wait for the agent, in seconds."""
    stamp = int(time.time())
    joined = await asyncio.gather(*(join_room(api, livekit, secret, f"join-{tag}-{stamp}-{i}") for i in range(rooms)))
    await asyncio.gather(*(room.disconnect() for room, _source, _wait in joined))
    return [wait for _room, _source, wait in joined]


def settle(pid: int, quiet_s: float = 4.0, limit_s: float = 90.0) -> int:
    """Wait until the agent's process count has not changed for ``quiet_s`` (jobs ended, warm
    processes started); returns that count."""
    deadline, count, since = time.monotonic() + limit_s, -1, time.monotonic()
    while time.monotonic() < deadline:
        now = usage(pid)[2]
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            break
        time.sleep(0.5)
    return count


def measure(idle: int) -> list[dict[str, Any]]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-join-"))
    ports, keys = StackPorts.free(), StackSecrets()
    env = {"AGENT_EMPTY_ROOM_TIMEOUT_S": "1", "AGENT_IDLE_PROCESSES": str(idle)}
    services = service_processes(ports, keys, workdir, env)
    procs = [redis_server(ports.redis, workdir / "redis"), livekit_server(ports, workdir)]
    procs += [services[name] for name in ("stt", "diarization", "api", "worker", "agent")]
    api, livekit = f"http://127.0.0.1:{ports.api}", f"ws://127.0.0.1:{ports.livekit}"
    rows = []
    try:
        for proc in procs:
            proc.start().wait_ready()
        pid = services["agent"].pid
        assert pid is not None
        for rooms in ROOMS:
            processes = settle(pid)
            idle_memory = usage(pid)[1]
            waits = asyncio.run(burst(api, livekit, keys.auth_jwt_secret, rooms, f"{idle}-{rooms}"))
            rows.append(
                {
                    "idle_processes": idle,
                    "rooms": rooms,
                    "agent_join_p50_s": pct(waits, 50),
                    "agent_join_p95_s": pct(waits, 95),
                    "agent_join_max_s": round(max(waits), 2),
                    "within_1s": sum(wait <= 1.0 for wait in waits),
                    "agent_processes_before": processes,
                    "agent_pss_mb_before": round(idle_memory, 1),
                }
            )
            print(rows[-1], flush=True)
    finally:
        for proc in reversed(procs):
            proc.stop()
    return rows


def main() -> None:
    rows = [row for idle in IDLE_PROCESSES for row in measure(idle)]
    table = [
        (
            r["idle_processes"],
            r["rooms"],
            f"{r['agent_join_p50_s']} / {r['agent_join_p95_s']} / {r['agent_join_max_s']}",
            f"{r['within_1s']} of {r['rooms']}",
            f"{r['agent_pss_mb_before']} ({r['agent_processes_before']} processes)",
        )
        for r in rows
    ]
    header = (
        "AGENT_IDLE_PROCESSES",
        "rooms started together",
        "agent subscribed after p50 / p95 / max (s)",
        "subscribed within 1 s",
        "agent memory before the burst, PSS MB",
    )
    write_results("join", {"rounds": rows}, table, header)


if __name__ == "__main__":
    main()
