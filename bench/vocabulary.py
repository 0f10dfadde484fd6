"""Custom vocabulary benchmark: the embedded Whisper base model on sentences naming people and
products it has not learnt to spell (tests.speech.RARE_NAMES), without and with the session
vocabulary that lists them (tests.speech.VOCABULARY, 16 terms), through the STT service as the
batch worker calls it (``POST /transcribe``) and as the agent does (``/v1/stream`` at real-time
pace): term recall (names spelt as listed), WER on those sentences, WER on sentences that name
none of them (what the bias costs elsewhere), and the time it adds."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import httpx
import numpy as np

from bench.common import pct, running_service, write_results
from shared.audio import SAMPLE_RATE, float_to_pcm16
from tests.speech import EVAL_ENGLISH, RARE_NAMES, VOCABULARY, conversation, found_terms, silence, synth, wav_bytes, wer

CONDITIONS = {"none": [], "16 terms": VOCABULARY}


def scores(texts: list[str], hypotheses: list[str], terms: list[list[str]]) -> dict[str, Any]:
    found = sum(found_terms(t, h) for t, h in zip(terms, hypotheses, strict=True))
    total = sum(len(t) for t in terms)
    return {
        "terms_found": found,
        "terms": total,
        "term_recall": round(found / max(1, total), 3),
        "wer": round(wer(" ".join(texts), " ".join(hypotheses)), 4),
    }


async def by_file(url: str, auth: dict[str, str], vocabulary: list[str]) -> dict[str, Any]:
    params = {"language": "en", "vocabulary": vocabulary}
    named: list[str] = []
    plain: list[str] = []
    elapsed: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers={**auth, "Content-Type": "audio/wav"}, timeout=600) as client:
        for sentences, out in (([(v, t) for v, t, _ in RARE_NAMES], named), (EVAL_ENGLISH, plain)):
            for voice, text in sentences:
                audio = np.concatenate([silence(0.3), synth(text, voice), silence(0.3)])
                response = await client.post("/transcribe", params=params, content=wav_bytes(audio))
                response.raise_for_status()
                out.append(response.json()["text"])
                elapsed.append(response.json()["processing_ms"] / 1000)
    return {
        **scores([t for _, t, _ in RARE_NAMES], named, [terms for _, _, terms in RARE_NAMES]),
        "control_wer": round(wer(" ".join(t for _, t in EVAL_ENGLISH), " ".join(plain)), 4),
        "processing_p50_s": pct(elapsed, 50),
        "hypotheses": named,
        "control_hypotheses": plain,
    }


async def by_stream(url: str, auth: dict[str, str], vocabulary: list[str]) -> dict[str, Any]:
    """Every sentence (named, then control) in one stream, 1.5 s apart, at real-time pace; each
    final belongs to the sentence its time range overlaps most."""
    sentences = [(v, t) for v, t, _ in RARE_NAMES] + list(EVAL_ENGLISH)
    audio, utterances = conversation(sentences, gap_s=1.5)
    audio = np.concatenate([audio, silence(1.5)])
    finals: list[tuple[float, dict[str, Any]]] = []
    frame = SAMPLE_RATE // 50
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url.replace("http", "ws") + "/v1/stream", params={"language": "en"}, headers=auth) as ws,
    ):
        await ws.receive()
        await ws.send_str(json.dumps({"type": "config", "vocabulary": vocabulary}))
        started = time.monotonic()

        async def reader() -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT and (body := json.loads(msg.data))["type"] == "final":
                    finals.append((time.monotonic() - started, body))

        task = asyncio.create_task(reader())
        for n, i in enumerate(range(0, audio.size, frame)):
            await ws.send_bytes(float_to_pcm16(audio[i : i + frame]))
            await asyncio.sleep(max(0.0, started + (n + 1) * 0.02 - time.monotonic()))
        await ws.send_str(json.dumps({"type": "end"}))
        await asyncio.wait_for(task, 300)
    heard: list[list[str]] = [[] for _ in utterances]
    lags: list[float] = []
    for arrived, final in finals:
        start, end = final["start_ms"] / 1000, final["end_ms"] / 1000
        overlaps = [min(end, u.end_s) - max(start, u.start_s) for u in utterances]
        n = int(np.argmax(overlaps))
        heard[n].append(final["text"])
        lags.append(arrived - utterances[n].end_s)
    hypotheses = [" ".join(parts) for parts in heard]
    named = len(RARE_NAMES)
    return {
        **scores([t for _, t, _ in RARE_NAMES], hypotheses[:named], [terms for _, _, terms in RARE_NAMES]),
        "control_wer": round(wer(" ".join(t for _, t in EVAL_ENGLISH), " ".join(hypotheses[named:])), 4),
        "final_lag_p50_s": pct(lags, 50),
        "final_lag_p95_s": pct(lags, 95),
        "hypotheses": hypotheses[:named],
        "control_hypotheses": hypotheses[named:],
    }


async def run() -> dict[str, Any]:
    with running_service("stt_service", "STT_PORT", {"STT_WHISPER_MODEL": "base"}) as (url, auth, _pid):
        results: dict[str, Any] = {}
        for name, vocabulary in CONDITIONS.items():
            results[name] = {"file": await by_file(url, auth, vocabulary), "live": await by_stream(url, auth, vocabulary)}
        return results


def main() -> None:
    results = asyncio.run(run())
    table = []
    for name, r in results.items():
        file, live = r["file"], r["live"]
        table.append(
            (
                name,
                f"{file['terms_found']}/{file['terms']} ({file['term_recall']:.0%})",
                f"{live['terms_found']}/{live['terms']} ({live['term_recall']:.0%})",
                f"{file['wer']:.1%} / {live['wer']:.1%}",
                f"{file['control_wer']:.1%} / {live['control_wer']:.1%}",
                file["processing_p50_s"],
                f"{live['final_lag_p50_s']} / {live['final_lag_p95_s']}",
            )
        )
    write_results(
        "vocabulary",
        {"model": "whisper base", "vocabulary": VOCABULARY, "results": results},
        table,
        (
            "vocabulary",
            "term recall, file",
            "term recall, live",
            "WER named sentences, file / live",
            "WER other sentences, file / live",
            "file decode p50 (s)",
            "live final lag p50 / p95 (s)",
        ),
    )


if __name__ == "__main__":
    main()
