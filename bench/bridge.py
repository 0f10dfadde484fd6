"""Device bridge: how many ESP32 devices one bridge process carries in real time, its CPU, and
the latency it adds (frame received -> handed to LiveKit), against a real livekit-server and API.
Devices are simulators speaking the firmware protocol at real-time pace."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from agent_service.bridge.simulator import DeviceSimulator, pcm_frames
from bench.common import cpu_seconds, peak_rss_mb, write_results
from devstack.components import StackPorts, StackSecrets, livekit_server, redis_server, user_token
from devstack.topology import service_processes
from shared.service_auth import service_header

DEVICE_COUNTS = (1, 8, 24, 48)
SECONDS = 15.0


def speech_like_frames(seconds: float) -> list[bytes]:
    """A 300 Hz tone gated on and off every half second, as 20 ms frames."""
    t = np.arange(int(seconds * 16000)) / 16000
    return pcm_frames((0.3 * np.sin(2 * np.pi * 300 * t) * ((t % 1.0) < 0.5)).astype(np.float32))


async def run_devices(api: str, bridge: str, keys: StackSecrets, count: int, pid: int) -> dict[str, Any]:
    user = user_token(keys.auth_jwt_secret, f"bench-{count}")
    async with httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {user}"}, timeout=30) as client:
        devices = [(await client.post("/api/v1/devices/", json={"name": f"bench {count}/{i}"})).json() for i in range(count)]
    tokens = [d["token"] for d in devices]
    identities = {f"device-{d['id']}" for d in devices}
    frames = speech_like_frames(SECONDS)
    ws = bridge.replace("http://", "ws://") + "/v1/device"
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    results = await asyncio.gather(
        *(DeviceSimulator(ws, token, frames, start_delay_s=0.1 * i).run() for i, token in enumerate(tokens))
    )
    cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
    await asyncio.sleep(1.0)  # the links close after each device's bye
    async with httpx.AsyncClient(timeout=30) as client:
        links = (await client.get(f"{bridge}/v1/devices", headers=service_header("agent", keys.service_keys))).json()
    mine = [link for link in links if link["identity"] in identities]
    played = sum(link["frames"]["played"] for link in mine)
    p50 = [link["latency_ms"]["p50"] for link in mine if link["latency_ms"]["p50"] is not None]
    p95 = [link["latency_ms"]["p95"] for link in mine if link["latency_ms"]["p95"] is not None]
    return {
        "devices": count,
        "completed": sum(r.close_code == 1000 for r in results),
        "frames_captured": sum(r.frames_captured for r in results),
        "frames_played": played,
        "gaps": sum(link["frames"]["gaps"] for link in mine),
        "late": sum(link["frames"]["late"] for link in mine),
        "dropped_drift": sum(link["frames"]["dropped_drift"] for link in mine),
        "bridge_cpu_percent": round(cpu * 100, 1),
        "latency_p50_ms": round(float(np.median(p50)), 1) if p50 else None,
        "latency_p95_ms": round(float(np.max(p95)), 1) if p95 else None,
    }


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    ports, keys = StackPorts.free(), StackSecrets()
    services = service_processes(ports, keys, workdir, {"BRIDGE_LINGER_S": "0"})
    procs = [redis_server(ports.redis, workdir / "redis"), livekit_server(ports, workdir), services["api"], services["bridge"]]
    rounds = []
    try:
        for proc in procs:
            proc.start().wait_ready()
        bridge = services["bridge"]
        assert bridge.pid is not None
        api, bridge_url = f"http://127.0.0.1:{ports.api}", f"http://127.0.0.1:{ports.bridge}"
        for count in DEVICE_COUNTS:
            rounds.append(asyncio.run(run_devices(api, bridge_url, keys, count, bridge.pid)))
            print(rounds[-1], flush=True)
        memory = peak_rss_mb(bridge.pid)
    finally:
        for proc in reversed(procs):
            proc.stop()
    table = [
        (
            r["devices"],
            f"{r['completed']}/{r['devices']}",
            f"{r['frames_played'] / max(1, r['frames_captured']):.3f}",
            r["gaps"],
            r["bridge_cpu_percent"],
            r["latency_p50_ms"],
            r["latency_p95_ms"],
        )
        for r in rounds
    ]
    header = (
        "devices",
        "completed",
        "frames played / captured",
        "gaps",
        "bridge CPU %",
        "added latency p50 ms",
        "p95 ms (worst device)",
    )
    write_results("bridge", {"seconds_per_device": SECONDS, "rounds": rounds, "bridge_peak_rss_mb": memory}, table, header)


if __name__ == "__main__":
    main()
