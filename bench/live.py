"""Live captions end to end: rooms where a participant speaks known sentences, against the whole
stack (livekit-server, STT with the default model, API, agent). Per utterance: from its end (known
from the audio) to its final at a subscriber, and from its onset to the first partial; with 1, 4
and 8 rooms at once; agent CPU and memory per room. Playback starts once the agent has subscribed
to the microphone; how long that took is reported on its own."""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from livekit import rtc

from bench.common import cpu_seconds, pct, process_tree, pss_mb, write_results
from devstack.components import StackPorts, StackSecrets, livekit_server, redis_server, user_token
from devstack.procs import ManagedProcess
from devstack.topology import service_processes
from tests.speech import EVAL_ENGLISH, conversation, normalize, silence, wer

# (rooms at once, times each room says the 8 sentences: 55 s each). The 8-room round runs three
# minutes, long enough for a backlog to show as later finals lagging more than early ones.
ROUNDS = ((1, 1), (4, 1), (8, 3))


@dataclass
class Caption:
    arrived: float  # monotonic time its stream opened at the subscriber
    final: bool
    segment_id: str
    text: str = ""


@dataclass
class RoomRun:
    started: float  # when the audio started playing
    agent_wait_s: float  # from publishing the microphone to the agent's subscription
    captions: list[Caption]


async def join_room(api: str, livekit: str, secret: str, name: str) -> tuple[rtc.Room, rtc.AudioSource, float]:
    """A new session's room with one participant whose microphone is published; returns once the
    agent has subscribed to it, with how long that took after publishing."""
    token = user_token(secret, name)
    async with httpx.AsyncClient(timeout=60) as client:
        details = (
            await client.post(
                f"{api}/api/v1/livekit/connection-details",
                json={"title": name, "language": "en"},
                headers={"Authorization": f"Bearer {token}"},
            )
        ).json()
    room = rtc.Room()
    subscribed = asyncio.Event()
    room.on("local_track_subscribed", lambda _track: subscribed.set())
    await room.connect(livekit, details["participantToken"])
    source = rtc.AudioSource(16000, 1)
    track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
    published = time.monotonic()
    await room.local_participant.publish_track(track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    await asyncio.wait_for(subscribed.wait(), 60)
    return room, source, time.monotonic() - published


async def one_room(api: str, livekit: str, secret: str, index: int, audio: np.ndarray, utterances: int) -> RoomRun:
    captions: list[Caption] = []
    readers: set[asyncio.Task[None]] = set()

    async def read(reader: rtc.TextStreamReader, caption: Caption) -> None:
        caption.text = await reader.read_all()

    def on_caption(reader: rtc.TextStreamReader, _sender: str) -> None:
        attributes = reader.info.attributes or {}
        caption = Caption(time.monotonic(), attributes["lk.transcription_final"] == "true", attributes["lk.segment_id"])
        captions.append(caption)
        readers.add(task := asyncio.create_task(read(reader, caption)))
        task.add_done_callback(readers.discard)

    # Speak once the agent listens: job start-up is reported on its own, not folded into the lag.
    room, source, agent_wait = await join_room(api, livekit, secret, f"live-{index}-{int(time.time())}")
    room.register_text_stream_handler("lk.transcription", on_caption)
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    # The source plays out in real time from the first frame: sample p leaves at start + p. It is
    # handed 100 ms at a time (its queue holds a second): 10 ms frames cost this load generator,
    # which shares the cores with the stack, a tenth of a core per room in calls alone.
    start = time.monotonic()
    step = 1600
    for i in range(0, pcm.size - step + 1, step):
        await source.capture_frame(rtc.AudioFrame(pcm[i : i + step].tobytes(), 16000, 1, step))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sum(c.final for c in captions) < utterances:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # the last texts finish reading
    await room.disconnect()
    return RoomRun(start, agent_wait, captions)


def sentence_of(text: str, at_s: float, utterances: list[Any]) -> int | None:
    """The utterance a final's text comes from: of those sharing most of its words (a third of
    them at least, so a badly misheard sentence still counts as arrived; its errors show in WER),
    the last one that had ended when the final arrived ``at_s`` into the audio."""
    words = set(normalize(text).split())
    shared = [len(words & set(normalize(u.text).split())) for u in utterances]
    best = max(shared)
    if best * 3 < max(1, len(words)):
        return None
    candidates = [i for i, n in enumerate(shared) if n == best]
    ended = [i for i in candidates if utterances[i].end_s <= at_s]
    return ended[-1] if ended else candidates[0]


def lags(run: RoomRun, utterances: list[Any]) -> tuple[list[float | None], list[float]]:
    """Per utterance: from where its speech ends to its last final (an utterance the STT split in
    two is done when both parts are), None when none came; and from its onset to its first
    caption. Captions are matched to utterances by their words, not by order."""
    first_seen: dict[str, float] = {}
    for caption in run.captions:
        first_seen.setdefault(caption.segment_id, caption.arrived)
    last_final: dict[int, float] = {}
    first_caption: dict[int, float] = {}
    for caption in run.captions:
        index = sentence_of(caption.text, caption.arrived - run.started, utterances) if caption.final else None
        if index is not None:
            last_final[index] = max(last_final.get(index, 0.0), caption.arrived)
            first_caption[index] = min(first_caption.get(index, math.inf), first_seen[caption.segment_id])
    final_lag = [last_final[i] - (run.started + u.end_s) if i in last_final else None for i, u in enumerate(utterances)]
    partial_lag = [first_caption[i] - (run.started + u.start_s) for i, u in enumerate(utterances) if i in first_caption]
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
        except (FileNotFoundError, ProcessLookupError):  # it ended meanwhile
            pass
    return cpu, memory, len(tree)


async def run_round(api: str, livekit: str, secret: str, rooms: int, repeats: int, agent: ManagedProcess) -> dict[str, Any]:
    audio, utterances = conversation(list(EVAL_ENGLISH) * repeats, gap_s=1.5, lead_s=1.0)
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
    results = await asyncio.gather(*(one_room(api, livekit, secret, i, audio, len(utterances)) for i in range(rooms)))
    sampler.cancel()
    cpu = usage(pid)[0] - cpu_before
    final_lag: list[float] = []
    partial_lag: list[float] = []
    early: list[float] = []
    late: list[float] = []
    missing = 0
    errors: list[float] = []  # WER of each room's finals against what was said
    for run in results:
        per_utterance, p = lags(run, utterances)
        final_lag += [lag for lag in per_utterance if lag is not None]
        partial_lag += p
        # A room that falls behind shows it as late finals later than early ones.
        early += [lag for lag in per_utterance[:2] if lag is not None]
        late += [lag for lag in per_utterance[-2:] if lag is not None]
        missing += per_utterance.count(None)
        errors.append(wer(" ".join(u.text for u in utterances), " ".join(c.text for c in run.captions if c.final)))
    return {
        "rooms": rooms,
        "utterances_per_room": len(utterances),
        "finals_missing": missing,
        "final_wer": round(float(np.mean(errors)), 3),
        "final_lag_p50_s": pct(final_lag, 50),
        "final_lag_p95_s": pct(final_lag, 95),
        "final_lag_first_two_p50_s": pct(early, 50),
        "final_lag_last_two_p50_s": pct(late, 50),
        "first_partial_p50_s": pct(partial_lag, 50),
        "first_partial_p95_s": pct(partial_lag, 95),
        "agent_join_p50_s": pct([r.agent_wait_s for r in results], 50),
        "agent_join_max_s": round(max(r.agent_wait_s for r in results), 2),
        "agent_cpu_percent_per_room": round(cpu / (time.monotonic() - wall) * 100 / rooms, 1),
        "agent_pss_mb_idle": round(idle_memory, 1),
        "agent_pss_mb_peak": round(peak["memory"], 1),
        "agent_pss_mb_per_room": round((peak["memory"] - idle_memory) / rooms, 1),
        "agent_processes_peak": int(peak["processes"]),
    }


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-live-"))
    ports, keys = StackPorts.free(), StackSecrets()
    services = service_processes(ports, keys, workdir, {"AGENT_EMPTY_ROOM_TIMEOUT_S": "2"})
    procs = [redis_server(ports.redis, workdir / "redis"), livekit_server(ports, workdir)]
    procs += [services[name] for name in ("stt", "diarization", "api", "worker", "agent")]
    rounds = []
    try:
        for proc in procs:
            proc.start().wait_ready()
        api, livekit = f"http://127.0.0.1:{ports.api}", f"ws://127.0.0.1:{ports.livekit}"
        for rooms, repeats in ROUNDS:
            rounds.append(asyncio.run(run_round(api, livekit, keys.auth_jwt_secret, rooms, repeats, services["agent"])))
            print(rounds[-1], flush=True)
            time.sleep(5)  # the previous round's jobs end
    finally:
        for proc in reversed(procs):
            proc.stop()
    table = [
        (
            f"{r['rooms']} × {r['utterances_per_room']} sentences",
            f"{r['final_lag_p50_s']} / {r['final_lag_p95_s']}",
            f"{r['final_lag_first_two_p50_s']} → {r['final_lag_last_two_p50_s']}",
            f"{r['first_partial_p50_s']} / {r['first_partial_p95_s']}",
            r["finals_missing"],
            f"{r['final_wer']:.1%}",
            f"{r['agent_join_p50_s']} / {r['agent_join_max_s']}",
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
        "WER of finals",
        "agent subscribed after p50 / max (s)",
        "agent CPU % per room",
        "agent memory per room (PSS MB)",
    )
    write_results("live", {"rounds": rounds}, table, header)


if __name__ == "__main__":
    main()
