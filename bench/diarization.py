"""Diarization benchmark (embedded engine, real service process). Real speech first: DER with its
parts (missed speech, false alarm, confusion), with and without the speaker count, the count
found and a one-speaker baseline on each AMI dev set excerpt (../shared/devset: six 30 s meeting
excerpts, 2-4 speakers) and on pyannote.audio's bundled phone call. Then synthetic 2-4 speaker
meetings, meetings where people talk over each other with and without overlap marking, RTF, peak
memory, and a 60-minute recording end to end.

DER is pyannote.metrics' with a 0.25 s collar, overlap scored (skip_overlap=False); the real
recordings are scored over the whole file (0-30 s) as the UEM.
The pyannote engine cannot be scored here: no real weights can be downloaded on this machine."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

from bench.common import cpu_seconds, peak_rss_mb, running_service, write_results
from bench.real_speech import DerParts, RealRecording, der_parts, devset, one_speaker_der, phone_call
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


@dataclass(frozen=True)
class RealScore:
    blind: DerParts  # the speaker count not given
    told_der: float  # the speaker count given
    speakers_found: int
    speakers_true: int
    one_speaker_der: float


def score_real(url: str, auth: dict[str, str], recording: RealRecording) -> tuple[RealScore, float, float]:
    """The recording's scores, with the processing and audio seconds of its two calls."""
    audio = decode_audio(recording.wav)
    blind, t1 = call(url, auth, audio)
    told, t2 = call(url, auth, audio, num_speakers=recording.speakers)
    score = RealScore(
        der_parts(recording, hypothesis(blind)),
        der_parts(recording, hypothesis(told)).der,
        blind["num_speakers"],
        recording.speakers,
        one_speaker_der(recording),
    )
    return score, t1 + t2, 2 * audio.size / SAMPLE_RATE


HEADER = (
    "embedded engine",
    "DER, count unknown",
    "DER, count given",
    "speakers found / true",
    "missed / false alarm / confusion (count unknown)",
    "one-speaker DER",
)


def padded(*cells: object) -> tuple[object, ...]:
    return (*cells, *[""] * (len(HEADER) - len(cells)))


def real_row(name: str, s: RealScore) -> tuple[object, ...]:
    parts = f"{s.blind.missed:.1%} / {s.blind.false_alarm:.1%} / {s.blind.confusion:.1%}"
    return (
        name,
        f"{s.blind.der:.1%}",
        f"{s.told_der:.1%}",
        f"{s.speakers_found} / {s.speakers_true}",
        parts,
        f"{s.one_speaker_der:.1%}",
    )


def dev_summary(scores: list[RealScore]) -> dict[str, float]:
    """The dev set's means, its worst DER and how many speaker counts were right."""
    return {
        "der": float(np.mean([s.blind.der for s in scores])),
        "der_max": max(s.blind.der for s in scores),
        "missed": float(np.mean([s.blind.missed for s in scores])),
        "false_alarm": float(np.mean([s.blind.false_alarm for s in scores])),
        "confusion": float(np.mean([s.blind.confusion for s in scores])),
        "der_told": float(np.mean([s.told_der for s in scores])),
        "counts_right": sum(s.speakers_found == s.speakers_true for s in scores),
        "recordings": len(scores),
        "one_speaker_der": float(np.mean([s.one_speaker_der for s in scores])),
    }


def dev_summary_row(m: dict[str, float]) -> tuple[object, ...]:
    return (
        f"AMI dev set: mean of {m['recordings']} (worst DER {m['der_max']:.1%})",
        f"{m['der']:.1%}",
        f"{m['der_told']:.1%}",
        f"{m['counts_right']} of {m['recordings']} right",
        f"{m['missed']:.1%} / {m['false_alarm']:.1%} / {m['confusion']:.1%}",
        f"{m['one_speaker_der']:.1%}",
    )


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
    dev = devset()
    real = [*dev, phone_call()]
    cases: list[tuple[str, np.ndarray, Annotation]] = []
    for speakers in (2, 3, 4):
        for seed in SEEDS:
            audio, turns = meeting(speakers, 16, seed=1000 * speakers + seed)
            cases.append((f"synthetic-{speakers}spk", audio, reference_of(turns)))
    interrupted = []
    for speakers in (2, 3, 4):
        for seed in SEEDS:
            audio, turns = overlapped_meeting(speakers, 16, seed=100 * speakers + 10 + seed)
            interrupted.append((audio, reference_of(turns)))
    overlap = overlapped(der, interrupted)

    rows: dict[str, dict[str, list[float]]] = {}
    scores: dict[str, RealScore] = {}
    with running_service("diarization_service", "DIARIZATION_PORT", {}) as (url, auth, pid):
        processing, audio_s = 0.0, 0.0
        for recording in real:
            scores[recording.name], seconds, audio_seconds = score_real(url, auth, recording)
            processing += seconds
            audio_s += audio_seconds
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

    dev_scores = [scores[recording.name] for recording in dev]
    dev_mean = dev_summary(dev_scores)
    table = [real_row(name, s) for name, s in scores.items()]
    table.insert(len(dev), dev_summary_row(dev_mean))
    table += [
        padded(name, f"{np.mean(r['blind']):.1%}", f"{np.mean(r['told']):.1%}", f"{np.mean(r['count_ok']):.0%} right")
        for name, r in rows.items()
    ]
    d = overlap["der"]
    table.append(padded("synthetic 2-4 spk with interruptions, overlap marking off", f"{np.mean(d['off']):.1%}"))
    table.append(
        padded(
            f"the same, overlap marking on (exclusive turns {np.mean(d['on_exclusive']):.1%}); "
            f"marked overlap precision {overlap['precision']:.0%}, recall {overlap['recall']:.0%}",
            f"{np.mean(d['on']):.1%}",
        )
    )
    table.append(
        padded(
            f"60-min synthetic, 4 spk ({hour.size / SAMPLE_RATE / 60:.0f} min; exclusive turns {hour_der_exclusive:.1%})",
            f"{hour_der:.1%}",
            "",
            f"{hour_body['num_speakers']} found",
        )
    )
    results: dict[str, Any] = {
        "engine": "embedded",
        "der_collar_s": 0.25,
        "real": {
            name: {
                **s.blind.rounded(),
                "der_told": round(s.told_der, 4),
                "speakers_found": s.speakers_found,
                "speakers_true": s.speakers_true,
                "one_speaker_der": round(s.one_speaker_der, 4),
            }
            for name, s in scores.items()
        },
        "devset": {k: round(v, 4) for k, v in dev_mean.items()},
        "cases": {name: {k: [round(v, 4) for v in vals] for k, vals in r.items()} for name, r in rows.items()},
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
        padded(
            f"RTF {results['rtf']} (short files), {results['hour']['rtf']} (60 min: {hour_s:.0f} s); "
            f"peak RSS {short_peak} MB (short files), {peak} MB (60 min)"
        )
    )
    write_results("diarization", results, table, HEADER)
