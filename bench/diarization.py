"""Diarization benchmark (embedded engine, real service process): DER with and without the
speaker count on synthetic 2-4 speaker meetings and on a real recording (pyannote.audio's bundled
sample), RTF, peak memory, and a 60-minute recording end to end.

The pyannote engine cannot be scored here: no real weights can be downloaded on this machine."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from pyannote.core import Annotation, Segment
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from bench.common import peak_rss_mb, running_service, write_results
from devstack.components import ROOT
from shared.audio import SAMPLE_RATE, decode_audio
from tests.speech import meeting, wav_bytes

SEEDS = (1, 2, 3)


def reference_of(turns: list[Any]) -> Annotation:
    ref = Annotation()
    for t in turns:
        ref[Segment(t.start_s, t.end_s)] = t.speaker
    return ref


def hypothesis(body: dict[str, Any]) -> Annotation:
    hyp = Annotation()
    for t in body["turns"]:
        hyp[Segment(t["start_ms"] / 1000, t["end_ms"] / 1000)] = t["speaker"]
    return hyp


def call(url: str, auth: dict[str, str], audio: np.ndarray, **params: int) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    response = httpx.post(f"{url}/diarize", params=params, content=wav_bytes(audio), headers=auth, timeout=1800)
    response.raise_for_status()
    return response.json(), time.perf_counter() - started


def main() -> None:
    der = DiarizationErrorRate(collar=0.25)
    sample = next((ROOT / "diarization_service" / ".venv" / "lib").glob("python3*/site-packages/pyannote/audio/sample"))
    cases: list[tuple[str, np.ndarray, Annotation]] = []
    for speakers in (2, 3, 4):
        for seed in SEEDS:
            audio, turns = meeting(speakers, 16, seed=1000 * speakers + seed)
            cases.append((f"synthetic-{speakers}spk", audio, reference_of(turns)))
    cases.append(
        (
            "real-2spk (pyannote sample)",
            decode_audio(Path(sample / "sample.wav")),
            load_rttm(str(sample / "sample.rttm"))["sample"],
        )
    )

    rows: dict[str, dict[str, list[float]]] = {}
    with running_service("diarization_service", "DIARIZATION_PORT", {}) as (url, auth, pid):
        processing, audio_s = 0.0, 0.0
        for name, audio, ref in cases:
            blind, t1 = call(url, auth, audio)
            told, t2 = call(url, auth, audio, num_speakers=len(ref.labels()))
            row = rows.setdefault(name, {"blind": [], "told": [], "count_ok": []})
            row["blind"].append(der(ref, hypothesis(blind)))
            row["told"].append(der(ref, hypothesis(told)))
            row["count_ok"].append(float(blind["num_speakers"] == len(ref.labels())))
            processing += t1 + t2
            audio_s += 2 * audio.size / SAMPLE_RATE
        one_speaker = Annotation()
        sample_ref = cases[-1][2]
        for seg in sample_ref.get_timeline().support():
            one_speaker[seg] = "all"
        baseline = der(sample_ref, one_speaker)

        # One hour: four recurring speakers, so the DER over the hour is meaningful too.
        pieces, turns, offset = [], [], 0.0
        seed = 0
        while offset < 3600:
            audio, part = meeting(4, 16, seed=5000 + seed)
            seed += 1
            pieces.append(audio)
            turns += [type(t)(t.start_s + offset, t.end_s + offset, t.speaker, t.text) for t in part]
            offset += audio.size / SAMPLE_RATE
        hour = np.concatenate(pieces)
        hour_body, hour_s = call(url, auth, hour)
        hour_der = der(reference_of(turns), hypothesis(hour_body))
        peak = peak_rss_mb(pid)

    table = [
        (name, f"{np.mean(r['blind']):.1%}", f"{np.mean(r['told']):.1%}", f"{np.mean(r['count_ok']):.0%}")
        for name, r in rows.items()
    ]
    table.append(("one-speaker baseline on the real sample", f"{baseline:.1%}", "", ""))
    table.append(
        (
            f"60-min synthetic, 4 spk ({hour.size / SAMPLE_RATE / 60:.0f} min)",
            f"{hour_der:.1%}",
            "",
            f"{hour_body['num_speakers']} found",
        )
    )
    results = {
        "engine": "embedded",
        "der_collar_s": 0.25,
        "cases": {name: {k: [round(v, 4) for v in vals] for k, vals in r.items()} for name, r in rows.items()},
        "one_speaker_baseline_real": round(baseline, 4),
        "rtf": round(processing / audio_s, 4),
        "hour": {
            "audio_s": round(hour.size / SAMPLE_RATE, 1),
            "wall_s": round(hour_s, 1),
            "rtf": round(hour_s / (hour.size / SAMPLE_RATE), 4),
            "der": round(hour_der, 4),
            "speakers_found": hour_body["num_speakers"],
        },
        "peak_rss_mb": peak,
    }
    table.append(
        (f"RTF {results['rtf']} (short files), {results['hour']['rtf']} (60 min: {hour_s:.0f} s); peak RSS {peak} MB", "", "", "")
    )
    write_results("diarization", results, table, ("embedded engine", "DER, count unknown", "DER, count given", "count found"))
