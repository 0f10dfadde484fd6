"""Batch transcription benchmark through the real services (API, worker, STT, diarization,
Redis). Real speech first: pyannote.audio's two-person phone call scored against its reference
words (sample.stm): WER, speaker-word accuracy, cpWER, whether its last utterance is there, and
the DER of the transcript's speaker turns; the AMI dev set excerpts (../shared/devset, no
reference words) by that DER only. Then wall time and RTF from upload to a completed,
speaker-attributed transcript for 10- and 60-minute synthetic recordings and for two 10-minute
jobs at once; peak memory of each process."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import jiwer
import numpy as np
from pyannote.core import Annotation, Segment
from scipy.optimize import linear_sum_assignment

from bench.common import peak_rss_mb, write_results
from bench.real_speech import RealRecording, der_parts, devset, phone_call
from devstack.components import StackPorts, StackSecrets, redis_server
from devstack.procs import ManagedProcess
from devstack.topology import service_processes
from shared.audio import SAMPLE_RATE
from tests.speech import PHONE_CALL, ReferenceTurn, mapped_accuracy, meeting, normalize, stm_utterances, wav_bytes, wer

# A word, normalized, and its speaker.
SpeakerWord = tuple[str, str]


def recording(minutes: int, seed: int) -> bytes:
    pieces, total, n = [], 0, 0
    while total < minutes * 60 * SAMPLE_RATE:
        audio, _ = meeting(4, 16, seed=seed * 1000 + n)
        pieces.append(audio)
        total += audio.size
        n += 1
    audio = np.concatenate(pieces)[: minutes * 60 * SAMPLE_RATE]
    return subprocess.run(
        ["sox", "-t", "wav", "-", "-t", "flac", "-"], input=wav_bytes(audio), capture_output=True, check=True
    ).stdout


def run_jobs(api: str, auth: dict[str, str], files: list[bytes], name: str = "m.flac") -> list[dict[str, Any]]:
    started = time.monotonic()
    jobs, sessions = [], {}
    for data in files:
        response = httpx.post(f"{api}/api/v1/transcriptions/batch", files={"audio_file": (name, data)}, headers=auth, timeout=600)
        response.raise_for_status()
        jobs.append(response.json()["job_id"])
        sessions[jobs[-1]] = response.json()["session_id"]
    done: dict[str, float] = {}
    while len(done) < len(jobs):
        for job_id in jobs:
            if job_id not in done:
                job = httpx.get(f"{api}/api/v1/jobs/{job_id}", headers=auth).json()
                if job["status"] != "queued" and job["status"] != "running":
                    assert job["status"] == "completed", job
                    done[job_id] = time.monotonic() - started
        time.sleep(1)
    return [{"job_id": j, "session_id": sessions[j], "wall_s": round(done[j], 1)} for j in jobs]


def transcribed(api: str, auth: dict[str, str], recording: RealRecording) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The job (wall time, ids) and the transcript segments of one real recording."""
    job = run_jobs(api, auth, [recording.wav.read_bytes()], name=recording.wav.name)[0]
    transcript = httpx.get(f"{api}/api/v1/sessions/{job['session_id']}/transcript", headers=auth).json()
    return job | {"audio_s": round(recording.uem.duration(), 1)}, transcript["segments"]


def speaker_turns(segments: list[dict[str, Any]]) -> Annotation:
    turns = Annotation()
    for s in segments:
        turns[Segment(s["start_ms"] / 1000, s["end_ms"] / 1000)] = s["speaker"] or "unknown"
    return turns


def words_of(utterances: list[ReferenceTurn]) -> list[SpeakerWord]:
    return [(word, u.speaker) for u in utterances for word in normalize(u.text).split()]


def hypothesis_words(segments: list[dict[str, Any]]) -> list[SpeakerWord]:
    """The transcript's words, each with its segment's speaker (a segment has one speaker)."""
    return [(token, s["speaker"] or "unknown") for s in segments for w in s["words"] for token in normalize(w["text"]).split()]


def text_of(words: list[SpeakerWord]) -> str:
    return " ".join(word for word, _ in words)


def speaker_word_accuracy(reference: list[SpeakerWord], hypothesis: list[SpeakerWord]) -> float:
    """Of the reference words recognized (aligned to the same hypothesis word by jiwer), the share
    whose speaker is right under the best one-to-one mapping of hypothesis to reference speakers."""
    pairs = []
    for chunk in jiwer.process_words(text_of(reference), text_of(hypothesis) or "<empty>").alignments[0]:
        if chunk.type == "equal":
            for k in range(chunk.ref_end_idx - chunk.ref_start_idx):
                pairs.append((reference[chunk.ref_start_idx + k][1], hypothesis[chunk.hyp_start_idx + k][1]))
    return mapped_accuracy(pairs)


def cpwer(reference: list[SpeakerWord], hypothesis: list[SpeakerWord]) -> float:
    """Concatenated minimum-permutation WER: each speaker's words concatenated, reference and
    hypothesis speakers paired one to one to make the fewest errors (a speaker left unpaired: all
    its words deleted or inserted), errors over the reference words."""

    def by_speaker(words: list[SpeakerWord]) -> list[list[str]]:
        speakers = dict.fromkeys(speaker for _, speaker in words)
        return [[word for word, s in words if s == speaker] for speaker in speakers]

    refs, hyps = by_speaker(reference), by_speaker(hypothesis)
    n = max(len(refs), len(hyps))
    errors = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i < len(refs) and j < len(hyps):
                out = jiwer.process_words(" ".join(refs[i]), " ".join(hyps[j]))
                errors[i, j] = out.substitutions + out.deletions + out.insertions
            else:
                errors[i, j] = len(refs[i]) if i < len(refs) else len(hyps[j]) if j < len(hyps) else 0
    rows, cols = linear_sum_assignment(errors)
    return float(errors[rows, cols].sum() / len(reference))


def last_utterance(reference: list[ReferenceTurn], segments: list[dict[str, Any]]) -> dict[str, Any]:
    """How many of the last reference utterance's words are recognized, in order (jiwer's hits),
    among the transcript's words from 1 s before it on; present: at least two thirds of them. (The
    words before it that end in that second are insertions, which do not count against it.)"""
    last = reference[-1]
    tail = " ".join(w["text"] for s in segments for w in s["words"] if w["end_ms"] > (last.start_s - 1) * 1000)
    words = normalize(last.text).split()
    recognized = jiwer.process_words(" ".join(words), normalize(tail) or "<empty>").hits
    return {"text": tail, "recognized": recognized, "words": len(words), "present": recognized >= 2 / 3 * len(words)}


def score_phone_call(api: str, auth: dict[str, str]) -> dict[str, Any]:
    recording, reference = phone_call(), stm_utterances(PHONE_CALL / "sample.stm")
    job, segments = transcribed(api, auth, recording)
    truth, found = words_of(reference), hypothesis_words(segments)
    return job | {
        "wer": round(wer(" ".join(u.text for u in reference), " ".join(s["text"] for s in segments)), 4),
        "speaker_word_accuracy": round(speaker_word_accuracy(truth, found), 4),
        "cpwer": round(cpwer(truth, found), 4),
        "last_utterance": last_utterance(reference, segments),
        "der": round(der_parts(recording, speaker_turns(segments)).der, 4),
        "speakers_found": len({s["speaker"] for s in segments}),
        "speakers_true": recording.speakers,
    }


def score_devset(api: str, auth: dict[str, str]) -> dict[str, dict[str, Any]]:
    """DER of the transcript's speaker turns (segments) on each dev set excerpt."""
    scores = {}
    for recording in devset():
        job, segments = transcribed(api, auth, recording)
        scores[recording.name] = job | {
            **der_parts(recording, speaker_turns(segments)).rounded(),
            "speakers_found": len({s["speaker"] for s in segments}),
            "speakers_true": recording.speakers,
        }
    return scores


HEADER = (
    "recording",
    "minutes",
    "wall s",
    "RTF",
    "WER",
    "speaker-word accuracy",
    "cpWER",
    "DER (speaker turns)",
    "speakers found / true",
)


def padded(*cells: object) -> tuple[object, ...]:
    return (*cells, *[""] * (len(HEADER) - len(cells)))


def real_rows(call: dict[str, Any], dev: dict[str, dict[str, Any]]) -> list[tuple[object, ...]]:
    def timing(r: dict[str, Any]) -> tuple[object, ...]:
        return (r["audio_s"] / 60, r["wall_s"], r["rtf"])

    def speakers(r: dict[str, Any]) -> str:
        return f"{r['speakers_found']} / {r['speakers_true']}"

    last = call["last_utterance"]
    rows = [
        (
            f"pyannote sample (phone call, 2 spk); last utterance {'present' if last['present'] else 'MISSING'} "
            f"({last['recognized']} of its {last['words']} words recognized)",
            *timing(call),
            f"{call['wer']:.1%}",
            f"{call['speaker_word_accuracy']:.1%}",
            f"{call['cpwer']:.1%}",
            f"{call['der']:.1%}",
            speakers(call),
        )
    ]
    rows += [
        padded(f"AMI dev set {name} (no reference words)", *timing(r), "", "", "", f"{r['der']:.1%}", speakers(r))
        for name, r in dev.items()
    ]
    ders = [r["der"] for r in dev.values()]
    rows.append(
        padded(f"AMI dev set: mean of {len(ders)} (worst {max(ders):.1%})", "", "", "", "", "", "", f"{np.mean(ders):.1%}")
    )
    return rows


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    ports, keys = StackPorts.free(), StackSecrets()
    procs: dict[str, ManagedProcess] = {"redis": redis_server(ports.redis, workdir / "redis")}
    services = service_processes(ports, keys, workdir)
    procs.update({name: services[name] for name in ("stt", "diarization", "api", "worker")})
    for proc in procs.values():
        proc.start()
    try:
        for proc in procs.values():
            proc.wait_ready()
        api = f"http://127.0.0.1:{ports.api}"
        token = httpx.post(f"{api}/api/v1/auth/signup", json={"email": "bench@example.com", "password": "benchmark-pass"}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        call, dev = score_phone_call(api, auth), score_devset(api, auth)
        ten, hour = recording(10, 1), recording(60, 2)
        ten_b = recording(10, 3)
        results = {
            "10 min": run_jobs(api, auth, [ten])[0] | {"audio_s": 600},
            "2 × 10 min at once": {"jobs": run_jobs(api, auth, [ten, ten_b]), "audio_s": 1200},
            "60 min": run_jobs(api, auth, [hour])[0] | {"audio_s": 3600},
        }
        results["2 × 10 min at once"]["wall_s"] = max(j["wall_s"] for j in results["2 × 10 min at once"]["jobs"])
        memory = {name: peak_rss_mb(procs[name].pid or 0) for name in ("api", "worker", "stt", "diarization")}
    finally:
        for proc in reversed(list(procs.values())):
            proc.stop()
    for r in [*results.values(), call, *dev.values()]:
        r["rtf"] = round(r["wall_s"] / r["audio_s"], 3)
    table = real_rows(call, dev)
    table += [padded(name, r["audio_s"] / 60, r["wall_s"], r["rtf"]) for name, r in results.items()]
    table.append(padded("peak RSS MB: " + ", ".join(f"{k} {v}" for k, v in memory.items())))
    results_json = {"phone_call": call, "devset": dev, "results": results, "peak_rss_mb": memory}
    write_results("batch", results_json, table, HEADER)
