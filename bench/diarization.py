"""Diarization benchmark (embedded engine, real service process): DER with and without the
speaker count on synthetic 2-4 speaker meetings and on a real recording (pyannote.audio's bundled
sample), DER on meetings where people talk over each other with and without overlap marking,
RTF, peak memory, and a 60-minute recording end to end.

DER is pyannote.metrics' with a 0.25 s collar, overlap scored (skip_overlap=False).
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

from bench.common import cpu_seconds, peak_rss_mb, running_service, write_results
from devstack.components import ROOT
from shared.audio import SAMPLE_RATE, decode_audio
from tests.speech import meeting, overlapped_meeting, wav_bytes

SEEDS = (1, 2, 3)


def reference_of(turns: list[Any]) -> Annotation:
    ref = Annotation()
    for t in turns:
        ref[Segment(t.start_s, t.end_s)] = t.speaker
    return ref


def hypothesis(body: dict[str, Any], key: str = "turns") -> Annotation:
    hyp = Annotation()
    for t in body[key]:
        hyp[Segment(t["start_ms"] / 1000, t["end_ms"] / 1000)] = t["speaker"]
    return hyp


def call(url: str, auth: dict[str, str], audio: np.ndarray, **params: int) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    response = httpx.post(f"{url}/diarize", params=params, content=wav_bytes(audio), headers=auth, timeout=1800)
    response.raise_for_status()
    return response.json(), time.perf_counter() - started


def overlap_scores(ref: Annotation, hyp: Annotation) -> tuple[float, float, float]:
    """Seconds of true overlap, of marked overlap, and of both."""
    truth, found = ref.get_overlap(), hyp.get_overlap()
    both = truth.crop(found, mode="intersection").duration() if truth and found else 0.0
    return truth.duration(), found.duration(), both


def overlapped(der: DiarizationErrorRate, cases: list[tuple[np.ndarray, Annotation]]) -> dict[str, Any]:
    """DER on meetings with interruptions: overlap marking off (DIARIZATION_MARK_OVERLAP=false),
    and on (its exclusive turns, and its turns with the second voice marked)."""
    rows: dict[str, list[float]] = {"off": [], "on_exclusive": [], "on": []}
    truth = found = both = 0.0
    for setting, keys in (("false", ("off",)), ("true", ("on", "on_exclusive"))):
        with running_service("diarization_service", "DIARIZATION_PORT", {"DIARIZATION_MARK_OVERLAP": setting}) as (
            url,
            auth,
            _pid,
        ):
            for audio, ref in cases:
                body, _ = call(url, auth, audio)
                for key in keys:
                    rows[key].append(der(ref, hypothesis(body, "exclusive_turns" if key == "on_exclusive" else "turns")))
                if setting == "true":
                    t, f, b = overlap_scores(ref, hypothesis(body))
                    truth, found, both = truth + t, found + f, both + b
    return {
        "der": {k: [round(v, 4) for v in vals] for k, vals in rows.items()},
        "overlap_s": round(truth, 1),
        "marked_s": round(found, 1),
        "precision": round(both / found, 3) if found else None,
        "recall": round(both / truth, 3) if truth else None,
    }


def main() -> None:
    der = DiarizationErrorRate(collar=0.25, skip_overlap=False)
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
    interrupted = []
    for speakers in (2, 3, 4):
        for seed in SEEDS:
            audio, turns = overlapped_meeting(speakers, 16, seed=100 * speakers + 10 + seed)
            interrupted.append((audio, reference_of(turns)))
    overlap = overlapped(der, interrupted)

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
        short_peak = peak_rss_mb(pid)
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
        del pieces
        cpu_before = cpu_seconds(pid)
        hour_body, hour_s = call(url, auth, hour)
        hour_cpu = cpu_seconds(pid) - cpu_before
        hour_ref = reference_of(turns)
        hour_der = der(hour_ref, hypothesis(hour_body))
        hour_der_exclusive = der(hour_ref, hypothesis(hour_body, "exclusive_turns"))
        peak = peak_rss_mb(pid)

    table = [
        (name, f"{np.mean(r['blind']):.1%}", f"{np.mean(r['told']):.1%}", f"{np.mean(r['count_ok']):.0%}")
        for name, r in rows.items()
    ]
    table.append(("one-speaker baseline on the real sample", f"{baseline:.1%}", "", ""))
    d = overlap["der"]
    table.append(("synthetic 2-4 spk with interruptions, overlap marking off", f"{np.mean(d['off']):.1%}", "", ""))
    table.append(
        (
            f"the same, overlap marking on (exclusive turns {np.mean(d['on_exclusive']):.1%}); "
            f"marked overlap precision {overlap['precision']:.0%}, recall {overlap['recall']:.0%}",
            f"{np.mean(d['on']):.1%}",
            "",
            "",
        )
    )
    table.append(
        (
            f"60-min synthetic, 4 spk ({hour.size / SAMPLE_RATE / 60:.0f} min; exclusive turns {hour_der_exclusive:.1%})",
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
        "overlapped": overlap,
        "rtf": round(processing / audio_s, 4),
        "peak_rss_mb_short_files": short_peak,
        "hour": {
            "audio_s": round(hour.size / SAMPLE_RATE, 1),
            "wall_s": round(hour_s, 1),
            "cpu_s": round(hour_cpu, 1),
            "rtf": round(hour_s / (hour.size / SAMPLE_RATE), 4),
            "der": round(hour_der, 4),
            "der_exclusive": round(hour_der_exclusive, 4),
            "speakers_found": hour_body["num_speakers"],
        },
        "peak_rss_mb": peak,
    }
    table.append(
        (
            f"RTF {results['rtf']} (short files), {results['hour']['rtf']} (60 min: {hour_s:.0f} s); "
            f"peak RSS {short_peak} MB (short files), {peak} MB (60 min)",
            "",
            "",
            "",
        )
    )
    write_results("diarization", results, table, ("embedded engine", "DER, count unknown", "DER, count given", "count found"))
