"""The diarization service as a real process: the embedded engine scored by DER on synthetic
meetings and a real recording, /embed, bad input, overload, and the pyannote engine's real
loading and inference path on random-weight checkpoints."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
from pyannote.core import Annotation, Segment
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from devstack.components import ROOT
from devstack.pytest_plugin import ServiceFactory
from tests.speech import LINES, VOICES, meeting, silence, synth, wav_bytes

pytestmark = [pytest.mark.integration]

SAMPLE = next((ROOT / "diarization_service" / ".venv" / "lib").glob("python3*/site-packages/pyannote/audio/sample"))
DER = DiarizationErrorRate(collar=0.25)


@pytest.fixture(scope="module")
def diar(services: ServiceFactory) -> str:
    return services.start(
        "diarization_service", "DIARIZATION_PORT", {"MAX_AUDIO_BYTES": str(8 * 1024 * 1024)}, name="diarization"
    )


@pytest.fixture(scope="module")
def auth(services: ServiceFactory) -> dict[str, str]:
    return services.headers("api")


def diarize(url: str, auth: dict[str, str], audio: np.ndarray, **params: int | str) -> dict:
    response = httpx.post(f"{url}/diarize", params=params, content=wav_bytes(audio), headers=auth, timeout=300)
    assert response.status_code == 200, response.text
    return response.json()


def annotation(turns: list[dict]) -> Annotation:
    result = Annotation()
    for t in turns:
        result[Segment(t["start_ms"] / 1000, t["end_ms"] / 1000)] = t["speaker"]
    return result


def test_info_names_the_embedded_engine(diar: str) -> None:
    info = httpx.get(f"{diar}/info").json()
    assert info["engine"] == "embedded" and info["embedding_dim"] == 256


@pytest.mark.parametrize("speakers", [2, 3, 4])
def test_synthetic_meetings_within_der(diar: str, auth: dict[str, str], speakers: int) -> None:
    audio, turns = meeting(speakers, 14, seed=7 * speakers)
    reference = Annotation()
    for t in turns:
        reference[Segment(t.start_s, t.end_s)] = t.speaker
    blind = diarize(diar, auth, audio)
    told = diarize(diar, auth, audio, num_speakers=speakers)
    # The count may miss a speaker who only said "Right." — DER is what counts.
    assert abs(blind["num_speakers"] - speakers) <= 1
    assert told["num_speakers"] == speakers
    assert DER(reference, annotation(blind["turns"])) <= 0.10
    assert DER(reference, annotation(told["turns"])) <= 0.08
    # Exclusive turns never overlap and the speakers' totals add up to them.
    exclusive = blind["exclusive_turns"]
    assert all(a["end_ms"] <= b["start_ms"] for a, b in itertools.pairwise(exclusive))
    assert sum(s["total_ms"] for s in blind["speakers"]) == sum(t["end_ms"] - t["start_ms"] for t in exclusive)


def test_real_recording_beats_the_one_speaker_baseline(diar: str, auth: dict[str, str]) -> None:
    """pyannote.audio's bundled sample: 30 s of real two-person conversation with reference turns."""
    reference = load_rttm(str(SAMPLE / "sample.rttm"))["sample"]
    one_speaker = Annotation()
    for segment in reference.get_timeline().support():
        one_speaker[segment] = "everyone"
    baseline = DER(reference, one_speaker)
    response = httpx.post(
        f"{diar}/diarize-file",
        files={"audio_file": ("sample.wav", (SAMPLE / "sample.wav").read_bytes())},
        data={"session_id": "s-42", "rttm": "true"},
        headers=auth,
        timeout=120,
    )
    body = response.json()
    der = DER(reference, annotation(body["turns"]))
    assert body["num_speakers"] == 2 and body["session_id"] == "s-42"
    assert der <= 0.15 and der < baseline / 3, (der, baseline)
    rttm_lines = body["rttm"].strip().splitlines()
    assert len(rttm_lines) == len(body["turns"]) and all(line.startswith("SPEAKER s-42 1 ") for line in rttm_lines)


def test_silence_has_no_speakers_and_one_voice_is_one_speaker(diar: str, auth: dict[str, str]) -> None:
    assert diarize(diar, auth, silence(5.0))["num_speakers"] == 0
    voice, pitch, speed = VOICES[0]
    alone = np.concatenate([synth(line, voice, speed=speed, pitch=pitch) for line in LINES[:4]])
    body = diarize(diar, auth, alone)
    assert body["num_speakers"] == 1, body["speakers"]


def test_embeddings_separate_two_voices(diar: str, auth: dict[str, str]) -> None:
    clips, spans, t = [], [], 0
    for voice, pitch, speed in (VOICES[0], VOICES[1]):
        for line in LINES[:3]:
            clip = synth(line, voice, speed=speed, pitch=pitch)
            clips.append(clip)
            spans.append([t * 1000 // 16000, (t + clip.size) * 1000 // 16000])
            t += clip.size
    response = httpx.post(
        f"{diar}/embed",
        params={"segments": json.dumps(spans)},
        content=wav_bytes(np.concatenate(clips)),
        headers=auth,
        timeout=60,
    )
    vectors = np.array(response.json()["embeddings"])
    assert vectors.shape == (6, 256)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    sim = vectors @ vectors.T
    within = np.mean([sim[i, j] for g in (range(3), range(3, 6)) for i in g for j in g if i < j])
    across = sim[:3, 3:].mean()
    assert within > across + 0.1, (within, across)


def test_bad_input_gets_a_clear_4xx(diar: str, auth: dict[str, str]) -> None:
    cases: list[tuple[str, dict[str, str | int], bytes, int]] = [
        ("/diarize", {}, b"", 415),
        ("/diarize", {}, b"garbage, not audio" * 30, 415),
        ("/diarize", {}, b"\0" * (9 * 1024 * 1024), 413),
        ("/diarize", {"min_speakers": 3, "max_speakers": 2}, wav_bytes(silence(1)), 422),
        ("/diarize", {"num_speakers": 0}, wav_bytes(silence(1)), 422),
        ("/embed", {"segments": "[[0, 99999]]"}, wav_bytes(silence(1)), 422),
        ("/embed", {"segments": "not json"}, wav_bytes(silence(1)), 422),
    ]
    for path, params, body, expected in cases:
        response = httpx.post(f"{diar}{path}", params=params, content=body, headers=auth, timeout=60)
        assert response.status_code == expected, (path, params, response.text)
        assert response.json()["detail"]
    assert httpx.post(f"{diar}/diarize", content=wav_bytes(silence(1))).status_code == 401
    assert httpx.post(f"{diar}/diarize-file", headers=auth).status_code == 422  # no audio_file part
    assert httpx.get(f"{diar}/health/ready").status_code == 200


def test_a_full_queue_answers_503(services: ServiceFactory, auth: dict[str, str]) -> None:
    busy = services.start("diarization_service", "DIARIZATION_PORT", {"DIARIZATION_MAX_QUEUE": "0"}, name="diarization-busy")
    audio = wav_bytes(meeting(2, 10, seed=3)[0])

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=300) as client:
            return await asyncio.gather(*[client.post(f"{busy}/diarize", content=audio, headers=auth) for _ in range(4)])

    codes = sorted(r.status_code for r in asyncio.run(burst()))
    assert 200 in codes and 503 in codes, codes


def test_pyannote_engine_loads_and_runs_a_local_pipeline(services: ServiceFactory, auth: dict[str, str], tmp_path: Path) -> None:
    """Random weights (no real ones can be downloaded here): the real loading and inference path."""
    folder = tmp_path / "community-layout"
    subprocess.run(
        [
            str(ROOT / "diarization_service" / ".venv" / "bin" / "python"),
            "-m",
            "diarization_service.random_pipeline",
            str(folder),
        ],
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
    )
    url = services.start(
        "diarization_service", "DIARIZATION_PORT", {"DIARIZATION_PYANNOTE_DIR": str(folder)}, name="diarization-pyannote"
    )
    info = httpx.get(f"{url}/info").json()
    assert info["engine"] == "pyannote" and info["embedding_dim"] == 256
    audio, _ = meeting(2, 4, seed=1)
    body = diarize(url, auth, audio, num_speakers=2)
    assert body["engine"] == "pyannote"
    for turn in body["turns"] + body["exclusive_turns"]:
        assert 0 <= turn["start_ms"] < turn["end_ms"] <= body["duration_ms"]
    exclusive = body["exclusive_turns"]
    assert all(a["end_ms"] <= b["start_ms"] for a, b in itertools.pairwise(exclusive))
    vectors = httpx.post(f"{url}/embed", content=wav_bytes(audio[:48000]), headers=auth, timeout=60).json()["embeddings"]
    assert len(vectors) == 1 and len(vectors[0]) == 256
