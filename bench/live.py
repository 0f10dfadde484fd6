"""Live captions end to end: rooms where a participant speaks known sentences, against the whole
stack (livekit-server, STT with the default model, API, agent). Per utterance: from its end (known
from the audio) to its final at a subscriber, and from its onset to the first partial; with 1, 4
and 8 rooms at once; agent CPU and memory per room."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from livekit import rtc

from bench.common import cpu_seconds, pct, process_tree, pss_mb, write_results
from devstack.components import StackPorts, StackSecrets, livekit_server, redis_server, service_processes, user_token
from devstack.procs import ManagedProcess
from tests.speech import EVAL_ENGLISH, conversation, silence

ROOMS = (1, 4, 8)
UTTERANCES = len(EVAL_ENGLISH)  # 8 sentences, about 55 s per room: long enough to see a backlog grow


Arrivals = list[tuple[float, dict[str, str]]]


async def one_room(api: str, livekit: str, secret: str, index: int, audio: np.ndarray) -> tuple[float, Arrivals]:
    """(when the audio started playing, every caption's arrival time and attributes)."""
    token = user_token(secret, f"live-{index}-{int(time.time())}")
    async with httpx.AsyncClient(timeout=60) as client:
        details = (
            await client.post(
                f"{api}/api/v1/livekit/connection-details",
                json={"title": f"bench {index}", "language": "en"},
                headers={"Authorization": f"Bearer {token}"},
            )
        ).json()
    arrivals: Arrivals = []

    def on_caption(reader: rtc.TextStreamReader, _sender: str) -> None:
        arrivals.append((time.monotonic(), dict(reader.info.attributes or {})))

    room = rtc.Room()
    room.register_text_stream_handler("lk.transcription", on_caption)
    await room.connect(livekit, details["participantToken"])
    source = rtc.AudioSource(16000, 1)
    track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
    await room.local_participant.publish_track(track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    await asyncio.sleep(2.0)  # the agent joins and subscribes
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    # The source plays out in real time from the first frame: sample p leaves at start + p.
    start = time.monotonic()
    for i in range(0, pcm.size - 160 + 1, 160):
        await source.capture_frame(rtc.AudioFrame(pcm[i : i + 160].tobytes(), 16000, 1, 160))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sum(a["lk.transcription_final"] == "true" for _t, a in arrivals) < UTTERANCES:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await room.disconnect()
    return start, arrivals


def lags(start: float, arrivals: Arrivals, utterances: list[Any]) -> tuple[list[float], list[float]]:
    finals = sorted(
        ((t, a) for t, a in arrivals if a["lk.transcription_final"] == "true"),
        key=lambda item: int(item[1]["intrascribe.start_ms"]),
    )
    first_seen: dict[str, float] = {}
    for t, a in arrivals:
        first_seen.setdefault(a["lk.segment_id"], t)
    final_lag, partial_lag = [], []
    for (t, a), utterance in zip(finals, utterances, strict=False):
        final_lag.append(t - (start + utterance.end_s))
        partial_lag.append(first_seen[a["lk.segment_id"]] - (start + utterance.start_s))
    return final_lag, partial_lag


def usage(pid: int) -> tuple[float, float, int]:
    """CPU seconds, memory (PSS, MB) and count of the agent and its job processes (job
    processes that ended between samples are not counted: CPU per room is a lower bound)."""
    cpu = memory = 0.0
    tree = process_tree(pid)
    for process in tree:
        try:
            cpu += cpu_seconds(process)
            memory += pss_mb(process)
        except FileNotFoundError:
            pass
    return cpu, memory, len(tree)


async def run_round(api: str, livekit: str, secret: str, rooms: int, agent: ManagedProcess) -> dict[str, Any]:
    audio, utterances = conversation([(v, t) for v, t in EVAL_ENGLISH[:UTTERANCES]], gap_s=1.5, lead_s=1.0)
    audio = np.concatenate([audio, silence(1.0)])
    pid = agent.pid
    assert pid is not None
    cpu_before, idle_memory, _count = usage(pid)
    wall = time.monotonic()
    peak = {"memory": idle_memory, "processes": 0.0}

    async def sample() -> None:
        while True:
            _cpu, memory, processes = usage(pid)
            peak["memory"], peak["processes"] = max(peak["memory"], memory), max(peak["processes"], processes)
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample())
    results = await asyncio.gather(*(one_room(api, livekit, secret, i, audio) for i in range(rooms)))
    sampler.cancel()
    cpu = usage(pid)[0] - cpu_before
    final_lag, partial_lag, early, late, missing = [], [], [], [], 0
    for start, arrivals in results:
        f, p = lags(start, arrivals, utterances)
        final_lag += f
        partial_lag += p
        early += f[:2]  # a room that falls behind shows it as late finals later than early ones
        late += f[-2:]
        missing += UTTERANCES - len(f)
    return {
        "rooms": rooms,
        "finals_missing": missing,
        "final_lag_p50_s": pct(final_lag, 50),
        "final_lag_p95_s": pct(final_lag, 95),
        "final_lag_first_two_p50_s": pct(early, 50),
        "final_lag_last_two_p50_s": pct(late, 50),
        "first_partial_p50_s": pct(partial_lag, 50),
        "first_partial_p95_s": pct(partial_lag, 95),
        "agent_cpu_percent_per_room": round(cpu / (time.monotonic() - wall) * 100 / rooms, 1),
        "agent_pss_mb_idle": round(idle_memory, 1),
        "agent_pss_mb_peak": round(peak["memory"], 1),
        "agent_pss_mb_per_room": round((peak["memory"] - idle_memory) / rooms, 1),
        "agent_processes_peak": int(peak["processes"]),
    }


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-live-"))
    ports, keys = StackPorts.free(), StackSecrets()
    services = service_processes(ports, keys, workdir, {"AGENT_EMPTY_ROOM_TIMEOUT_S": "2", "AGENT_IDLE_PROCESSES": "2"})
    procs = [redis_server(ports.redis, workdir / "redis"), livekit_server(ports, workdir)]
    procs += [services[name] for name in ("stt", "diarization", "api", "worker", "agent")]
    rounds = []
    try:
        for proc in procs:
            proc.start().wait_ready()
        api, livekit = f"http://127.0.0.1:{ports.api}", f"ws://127.0.0.1:{ports.livekit}"
        for rooms in ROOMS:
            rounds.append(asyncio.run(run_round(api, livekit, keys.auth_jwt_secret, rooms, services["agent"])))
            print(rounds[-1], flush=True)
            time.sleep(5)  # the previous round's jobs end
    finally:
        for proc in reversed(procs):
            proc.stop()
    table = [
        (
            r["rooms"],
            f"{r['final_lag_p50_s']} / {r['final_lag_p95_s']}",
            f"{r['final_lag_first_two_p50_s']} → {r['final_lag_last_two_p50_s']}",
            f"{r['first_partial_p50_s']} / {r['first_partial_p95_s']}",
            r["finals_missing"],
            r["agent_cpu_percent_per_room"],
            r["agent_pss_mb_per_room"],
        )
        for r in rounds
    ]
    header = (
        "rooms",
        "final lag p50 / p95 (s)",
        "p50 first two → last two utterances (s)",
        "first partial p50 / p95 (s)",
        "finals missing",
        "agent CPU % per room",
        "agent memory per room (PSS MB)",
    )
    write_results("live", {"utterances_per_room": UTTERANCES, "rounds": rounds}, table, header)


if __name__ == "__main__":
    main()
