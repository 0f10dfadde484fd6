"""STT benchmark: per engine/model, single-stream RTF, p50/p95 latency for a ~5 s utterance,
aggregate throughput with 1/2/4/8 concurrent clients, live WebSocket streams at real-time pace
(final latency), peak memory, WER on the evaluation set."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import httpx
import numpy as np

from bench.common import pct, peak_rss_mb, running_service, write_results
from shared.audio import SAMPLE_RATE, float_to_pcm16
from tests.speech import EVAL_ENGLISH, conversation, silence, synth, wav_bytes, wer

MODELS = ["base", "tiny.en"]
CONCURRENCY = [1, 2, 4, 8]
LIVE_STREAMS = [1, 4, 8]


async def post(client: httpx.AsyncClient, url: str, auth: dict[str, str], audio: np.ndarray) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = await client.post(
        f"{url}/transcribe", content=wav_bytes(audio), headers={**auth, "Content-Type": "audio/wav"}, params={"language": "en"}
    )
    response.raise_for_status()
    return time.perf_counter() - started, response.json()


async def throughput(url: str, auth: dict[str, str], utterance: np.ndarray, clients: int, rounds: int = 3) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=600) as client:

        async def worker() -> None:
            for _ in range(rounds):
                await post(client, url, auth, utterance)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - started
    audio_s = clients * rounds * utterance.size / SAMPLE_RATE
    return {
        "clients": clients,
        "audio_s": round(audio_s, 1),
        "wall_s": round(wall, 2),
        "aggregate_rtf": round(wall / audio_s, 3),
        "x_realtime": round(audio_s / wall, 1),
    }


async def stream_realtime(url: str, auth: dict[str, str], audio: np.ndarray) -> list[tuple[float, dict[str, Any]]]:
    """``audio`` through the service's ``/v1/stream`` at real-time pace (20 ms frames): every
    message it sent back, with its arrival in seconds from the first frame."""
    messages: list[tuple[float, dict[str, Any]]] = []
    frame = SAMPLE_RATE // 50
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url.replace("http", "ws") + "/v1/stream", params={"language": "en"}, headers=auth) as ws,
    ):
        await ws.receive()
        started = time.monotonic()

        async def reader() -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    messages.append((time.monotonic() - started, json.loads(msg.data)))

        task = asyncio.create_task(reader())
        for n, i in enumerate(range(0, audio.size, frame)):
            await ws.send_bytes(float_to_pcm16(audio[i : i + frame]))
            await asyncio.sleep(max(0.0, started + (n + 1) * 0.02 - time.monotonic()))
        await ws.send_str(json.dumps({"type": "end"}))
        await asyncio.wait_for(task, 300)
    return messages


async def live_stream(url: str, auth: dict[str, str], audio: np.ndarray, ends_s: list[float]) -> dict[str, Any]:
    messages = await stream_realtime(url, auth, audio)
    finals = [at for at, body in messages if body["type"] == "final"]
    partials = sum(body["type"] == "partial" for _at, body in messages)
    # Latency of a final: from the end of the utterance's audio to its arrival.
    lags = [f - e for f, e in zip(finals, ends_s, strict=False)]
    return {"finals": len(finals), "partials": partials, "final_lag_s": lags}


async def live(url: str, auth: dict[str, str], streams: int) -> dict[str, Any]:
    audio, utterances = conversation([(v, t) for v, t in EVAL_ENGLISH[:4]], gap_s=1.2)
    results = await asyncio.gather(*(live_stream(url, auth, audio, [u.end_s for u in utterances]) for _ in range(streams)))
    lags = [lag for r in results for lag in r["final_lag_s"]]
    return {
        "streams": streams,
        "audio_s_each": round(audio.size / SAMPLE_RATE, 1),
        "finals": sum(r["finals"] for r in results),
        "expected_finals": streams * len(utterances),
        "partials_per_stream": round(sum(r["partials"] for r in results) / streams, 1),
        "final_lag_p50_s": pct(lags, 50),
        "final_lag_p95_s": pct(lags, 95),
    }


async def bench_model(model: str) -> dict[str, Any]:
    with running_service("stt_service", "STT_PORT", {"STT_WHISPER_MODEL": model}) as (url, auth, pid):
        evals = [(text, np.concatenate([silence(0.3), synth(text, voice), silence(0.3)])) for voice, text in EVAL_ENGLISH]
        async with httpx.AsyncClient(timeout=600) as client:
            info = (await client.get(f"{url}/info")).json()
            # WER on the evaluation set, one request each.
            hypotheses = [(await post(client, url, auth, audio))[1]["text"] for _, audio in evals]
            # Single stream over a ~1 minute meeting.
            meeting, _ = conversation([(v, t) for v, t in EVAL_ENGLISH] * 2, gap_s=0.8)
            elapsed, _ = await post(client, url, auth, meeting)
            # Latency for a ~5 s utterance.
            five = evals[0][1][: 5 * SAMPLE_RATE]
            latencies = [(await post(client, url, auth, five))[0] for _ in range(12)]
        scaling = [await throughput(url, auth, evals[1][1], n) for n in CONCURRENCY]
        streams = [await live(url, auth, n) for n in LIVE_STREAMS]
        refs = " ".join(t for t, _ in evals)
        return {
            "engine": info["engine"],
            "model": info["model"],
            "device": info["device"],
            "wer": round(wer(refs, " ".join(hypotheses)), 4),
            "single_stream": {
                "audio_s": round(meeting.size / SAMPLE_RATE, 1),
                "wall_s": round(elapsed, 2),
                "rtf": round(elapsed / (meeting.size / SAMPLE_RATE), 3),
            },
            "latency_5s_utterance": {"p50_s": pct(latencies, 50), "p95_s": pct(latencies, 95)},
            "concurrency": scaling,
            "live_streams": streams,
            "peak_rss_mb": peak_rss_mb(pid),
        }


def main() -> None:
    results = {model: asyncio.run(bench_model(model)) for model in MODELS}
    table = []
    for r in results.values():
        agg = {c["clients"]: c["aggregate_rtf"] for c in r["concurrency"]}
        lag = {s["streams"]: f"{s['final_lag_p50_s']}/{s['final_lag_p95_s']}" for s in r["live_streams"]}
        table.append(
            (
                f"{r['engine']} {r['model']} ({r['device']})",
                r["single_stream"]["rtf"],
                f"{r['latency_5s_utterance']['p50_s']} / {r['latency_5s_utterance']['p95_s']}",
                " / ".join(str(agg[n]) for n in CONCURRENCY),
                " / ".join(lag[n] for n in LIVE_STREAMS),
                r["peak_rss_mb"],
                f"{r['wer']:.1%}",
            )
        )
    write_results(
        "stt",
        {"results": results},
        table,
        (
            "engine",
            "RTF 1 stream",
            "5 s utterance p50 / p95 (s)",
            "aggregate RTF 1/2/4/8 clients",
            "live final lag p50/p95 (s), 1/4/8 streams",
            "peak RSS (MB)",
            "WER",
        ),
    )
