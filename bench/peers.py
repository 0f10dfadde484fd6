"""Peers side by side, in one run (issue 19 §5): our STT streaming endpoint (`/v1/stream`) and
WhisperLive (faster_whisper backend) on the same Whisper base model folder (CTranslate2, int8 on
CPU, one thread per core), the same real speech and the same pacing (20 ms frames at real time),
with 1 and 4 concurrent streams, rounds interleaved so both meet the same background load.

The peer is installed from its pinned requirements (`bench/peers/<peer>.txt`, `uv pip compile`)
into its own virtualenv under `bench/.peers/` (git-ignored); none of its code is in the project.
Our harness speaks each system's own WebSocket protocol.

Audio: pyannote.audio's two-person phone call (real speech, reference words in sample.stm), cut
into its speaker turns; each stream plays the turns twice, 2 s of silence after each, 8 s at the
end. Per turn: final lag (from where its speech ends to the last final that covers it), first
text (from its onset to the first partial or final that covers it), whether any final covered
it; per stream: WER of the finals' text against the turns' words."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np

from bench.common import pct, running_service, write_results
from bench.stt import stream_realtime
from devstack.procs import ManagedProcess, free_port
from shared.audio import SAMPLE_RATE, float_to_pcm16
from tests.speech import Utterance, phone_call_turns, wav_bytes, wer

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(__file__).resolve().parent / ".peers"
REQUIREMENTS = Path(__file__).resolve().parent / "peers"
MODEL = ROOT / "models" / "whisper-base"
STREAMS = (1, 4)
REPEATS, GAP_S, LEAD_S, TAIL_S = 2, 2.0, 1.0, 8.0
FRAME = SAMPLE_RATE // 50  # 20 ms, as bench/stt.py and the agent send


@dataclass(frozen=True)
class Heard:
    """A text a system sent: when it arrived and the stretch of the stream it covers."""

    arrived_s: float
    start_s: float
    end_s: float
    text: str
    final: bool


Client = Callable[[np.ndarray], Awaitable[list[Heard]]]


async def ours(url: str, auth: dict[str, str], audio: np.ndarray) -> list[Heard]:
    """Our `/v1/stream`: partials and finals carry start_ms/end_ms in the stream."""
    messages = await stream_realtime(url, auth, audio)
    return [
        Heard(at, body["start_ms"] / 1000, body["end_ms"] / 1000, body["text"], body["type"] == "final")
        for at, body in messages
        if body.get("type") in {"partial", "final"} and body.get("text", "").strip()
    ]


async def whisperlive(url: str, audio: np.ndarray) -> list[Heard]:
    """WhisperLive's WebSocket protocol (whisper_live/client.py and server.py 0.10.0): a JSON
    options message, SERVER_READY, binary audio frames (int16 here, as ours), b"END_OF_AUDIO".
    The server sends its last segments again and again; a segment is final once it comes with
    ``completed: true`` (the first such arrival counts), the rest are its partials."""
    heard: list[Heard] = []
    seen: set[tuple[str, str, str]] = set()
    options = {
        "uid": str(uuid.uuid4()),
        "language": "en",
        "task": "transcribe",
        "model": str(MODEL),
        "use_vad": True,
        # The defaults its own client sends.
        "send_last_n_segments": 10,
        "no_speech_thresh": 0.45,
        "clip_audio": False,
        "same_output_threshold": 10,
        "audio_format": "int16",
    }
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        await ws.send_str(json.dumps(options))
        while json.loads((await ws.receive(timeout=300)).data).get("message") != "SERVER_READY":
            pass
        started = time.monotonic()

        async def reader() -> None:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                at = time.monotonic() - started
                for seg in json.loads(msg.data).get("segments", []):
                    key = (seg["start"], seg["end"], seg["text"])
                    if not seg["text"].strip() or (seg["completed"] and key in seen):
                        continue
                    if seg["completed"]:
                        seen.add(key)
                    heard.append(Heard(at, float(seg["start"]), float(seg["end"]), seg["text"], bool(seg["completed"])))

        task = asyncio.create_task(reader())
        for n, i in enumerate(range(0, audio.size, FRAME)):
            await ws.send_bytes(float_to_pcm16(audio[i : i + FRAME]))
            await asyncio.sleep(max(0.0, started + (n + 1) * 0.02 - time.monotonic()))
        await ws.send_bytes(b"END_OF_AUDIO")
        await asyncio.sleep(3.0)  # it completes nothing after the end; what is on its way arrives
        await ws.close()
        task.cancel()
    return heard


def covers(h: Heard, turn: Utterance) -> bool:
    """A text covers a turn when their stretches overlap by 30% of either (Whisper's timestamps
    are rough; a text of two turns covers both)."""
    overlap = min(h.end_s, turn.end_s) - max(h.start_s, turn.start_s)
    return overlap > 0 and overlap >= 0.3 * min(turn.end_s - turn.start_s, max(h.end_s - h.start_s, 0.01))


def score(heard: list[Heard], turns: list[Utterance]) -> dict[str, Any]:
    lags, firsts, missing = [], [], 0
    for turn in turns:
        done = [h.arrived_s for h in heard if h.final and covers(h, turn)]
        texts = [h.arrived_s for h in heard if covers(h, turn)]
        if done:
            lags.append(max(done) - turn.end_s)
        else:
            missing += 1
        if texts:
            firsts.append(min(texts) - turn.start_s)
    finals = sorted((h for h in heard if h.final), key=lambda h: h.start_s)
    return {
        "final_lag_s": lags,
        "first_text_s": firsts,
        "finalised": len(turns) - missing,
        "finals": len(finals),
        "wer": wer(" ".join(t.text for t in turns), " ".join(h.text for h in finals)),
        "finals_text": [h.text.strip() for h in finals],
    }


async def run_round(client: Client, audio: np.ndarray, turns: list[Utterance], streams: int) -> dict[str, Any]:
    results = [score(heard, turns) for heard in await asyncio.gather(*(client(audio) for _ in range(streams)))]
    lags = [lag for r in results for lag in r["final_lag_s"]]
    firsts = [f for r in results for f in r["first_text_s"]]
    return {
        "streams": streams,
        "turns": streams * len(turns),
        "finalised": sum(r["finalised"] for r in results),
        "finals": sum(r["finals"] for r in results),
        # None where nothing came (pct's NaN is not JSON).
        "final_lag_p50_s": pct(lags, 50) if lags else None,
        "final_lag_p95_s": pct(lags, 95) if lags else None,
        "first_text_p50_s": pct(firsts, 50) if firsts else None,
        "first_text_p95_s": pct(firsts, 95) if firsts else None,
        "wer": round(float(np.mean([r["wer"] for r in results])), 4),
        "finals_text": results[0]["finals_text"],
    }


def peer_python(name: str) -> Path:
    """The peer's own virtualenv, made from its pinned requirements when missing or stale."""
    venv, lock = PEERS / name, REQUIREMENTS / f"{name}.txt"
    stamp = venv / ".installed-from"
    if not stamp.exists() or stamp.read_text() != lock.read_text():
        uv = ROOT / ".tools" / "bin" / "uv"
        subprocess.run([str(uv), "venv", "-q", "--allow-existing", "--python", "3.11", str(venv)], check=True)
        # --no-deps: the file is the whole resolved set (less the microphone-only pyaudio).
        subprocess.run(
            [str(uv), "pip", "install", "-q", "--no-deps", "--python", str(venv / "bin" / "python"), "-r", str(lock)], check=True
        )
        stamp.write_text(lock.read_text())
    return venv / "bin" / "python"


def port_open(port: int) -> Callable[[], bool]:
    def check() -> bool:
        with socket.socket() as s:
            s.settimeout(0.5)
            return s.connect_ex(("127.0.0.1", port)) == 0

    return check


def whisperlive_server(port: int, workdir: Path) -> ManagedProcess:
    """What its run_server.py does with ``--backend faster_whisper -fw <model>``: one model shared
    by all clients (single model mode), int8 on CPU (its choice without CUDA), threads as ours."""
    script = (
        "import sys; from whisper_live.server import TranscriptionServer; "
        "TranscriptionServer().run('127.0.0.1', port=int(sys.argv[1]), backend='faster_whisper', "
        "faster_whisper_custom_model_path=sys.argv[2], single_model=True, max_clients=8, cache_path=sys.argv[3])"
    )
    return ManagedProcess(
        "whisperlive",
        [str(peer_python("whisperlive")), "-c", script, str(port), str(MODEL), str(workdir / "cache")],
        workdir / "whisperlive.log",
        port_open(port),
        env={"OMP_NUM_THREADS": str(os.cpu_count() or 1), "HOME": str(workdir), "HF_HUB_OFFLINE": "1"},
        cwd=workdir,
    )


async def compare(url: str, auth: dict[str, str], peer_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    audio, turns = phone_call_turns(REPEATS, GAP_S, LEAD_S, TAIL_S)
    systems: dict[str, Client] = {
        "intrascribe /v1/stream": lambda a: ours(url, auth, a),
        "WhisperLive 0.10.0 (faster_whisper)": lambda a: whisperlive(peer_url, a),
    }
    # Warm both: WhisperLive loads its model on the first connection.
    await asyncio.gather(*(client(audio[: 6 * SAMPLE_RATE]) for client in systems.values()))
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    for streams in STREAMS:
        for name, client in systems.items():
            load = os.getloadavg()[0]
            result = await run_round(client, audio, turns, streams)
            result["load_avg_1min_before"], result["load_avg_1min_after"] = round(load, 2), round(os.getloadavg()[0], 2)
            rounds[name].append(result)
            print(name, {k: v for k, v in result.items() if k != "finals_text"}, flush=True)
    return rounds, {"audio_s": round(audio.size / SAMPLE_RATE, 1), "turns_per_stream": len(turns)}


def whole_file_wer(url: str, auth: dict[str, str]) -> float:
    """For scale: the WER of the same stream uploaded whole to our `/transcribe` (full 30 s window,
    no endpointing) — what the model gets from this audio without live constraints."""
    audio, turns = phone_call_turns(REPEATS, GAP_S, LEAD_S, TAIL_S)
    response = httpx.post(
        f"{url}/transcribe",
        content=wav_bytes(audio),
        headers={**auth, "Content-Type": "audio/wav"},
        params={"language": "en"},
        timeout=600,
    )
    response.raise_for_status()
    return round(wer(" ".join(t.text for t in turns), response.json()["text"]), 4)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    port = free_port()
    peer = whisperlive_server(port, workdir)
    peer.ready_timeout = 300
    with running_service("stt_service", "STT_PORT", {"STT_WHISPER_MODEL": "base"}) as (url, auth, _pid):
        info = httpx.get(f"{url}/info").json()
        peer.start().wait_ready()
        try:
            rounds, audio = asyncio.run(compare(url, auth, f"ws://127.0.0.1:{port}"))
        finally:
            peer.stop()
        file_wer = whole_file_wer(url, auth)
    ours_name, peer_name = list(rounds)
    table = []
    for name, results in rounds.items():
        for r in results:
            table.append(
                (
                    f"{name}, {r['streams']} stream{'s' if r['streams'] > 1 else ''}",
                    f"{r['final_lag_p50_s']} / {r['final_lag_p95_s']}" if r["finalised"] else "none completed",
                    f"{r['first_text_p50_s']} / {r['first_text_p95_s']}",
                    f"{r['wer']:.1%}",
                    f"{r['finalised']} of {r['turns']}",
                    f"{r['load_avg_1min_before']} → {r['load_avg_1min_after']}",
                )
            )
    table.append(("(for scale) the same audio uploaded whole to our /transcribe", "", "", f"{file_wer:.1%}", "", ""))
    # Theirs over ours; None where the peer completed no turn at all (no lag to divide).
    ratios = {
        str(ours_r["streams"]): {
            q: round(peer_r[f"final_lag_{q}_s"] / ours_r[f"final_lag_{q}_s"], 1) if peer_r["finalised"] else None
            for q in ("p50", "p95")
        }
        for ours_r, peer_r in zip(rounds[ours_name], rounds[peer_name], strict=True)
    }
    header = (
        "system (phone call turns, real speech)",
        "final lag p50 / p95 (s)",
        "first text p50 / p95 (s)",
        "WER of finals",
        "turns finalised",
        "load avg 1 min before → after",
    )
    results = {
        "audio": {
            **audio,
            "source": "pyannote.audio sample.wav (two-person phone call), turns from sample.stm",
            "repeats": REPEATS,
        },
        "model": {
            "folder": str(MODEL.relative_to(ROOT)),
            "ours": info,
            "whisperlive": "faster_whisper backend, int8, single model",
        },
        "cpu_threads_each": os.cpu_count(),
        "rounds": rounds,
        "peer_over_ours": ratios,
        "whole_file_wer_ours": file_wer,
        "requirements": {"whisperlive": str((REQUIREMENTS / "whisperlive.txt").relative_to(ROOT))},
    }
    write_results("peers", results, table, header)
    print("peer / ours:", ratios)
