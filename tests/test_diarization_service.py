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
from pyannote.core import Annotation, Segment, Timeline
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from devstack.components import ROOT
from devstack.pytest_plugin import ServiceFactory
from shared.audio import float_to_pcm16
from tests.speech import DEVSET, LINES, PHONE_CALL, VOICES, meeting, overlapped_meeting, silence, synth, wav_bytes

pytestmark = [pytest.mark.service]

DER = DiarizationErrorRate(collar=0.25, skip_overlap=False)
DIARIZATION_PYTHON = ROOT / "diarization_service" / ".venv" / "bin" / "python"


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
    assert info["engine"] == "embedded" and info["embedding_dim"] == 192 and "cam++" in info["model"]


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
    # Nobody talks at once here: overlap marking must stay (almost) silent.
    assert annotation(blind["turns"]).get_overlap().duration() <= 0.02 * reference.get_timeline().support().duration()
    if speakers != 2:
        return
    # Raw 16 kHz PCM (what the API sends) is spooled as it is and gives the same answer as the WAV.
    pcm = httpx.post(
        f"{diar}/diarize",
        content=float_to_pcm16(audio),
        headers={**auth, "Content-Type": "application/octet-stream", "X-Sample-Rate": "16000"},
        timeout=300,
    )
    assert pcm.json()["turns"] == blind["turns"]


@pytest.mark.parametrize("speakers", [2, 3])
def test_overlapping_speech_is_marked(diar: str, auth: dict[str, str], speakers: int) -> None:
    """Two voices partly at once: the second voice gets a turn there (regular turns overlap),
    exclusive turns stay one speaker at a time, and DER counting overlap improves."""
    audio, turns = overlapped_meeting(speakers, 16, seed=100 * speakers + 1)
    reference = Annotation()
    for t in turns:
        reference[Segment(t.start_s, t.end_s)] = t.speaker
    body = diarize(diar, auth, audio)
    assert body["num_speakers"] == speakers
    marked, exclusive = annotation(body["turns"]), annotation(body["exclusive_turns"])
    assert all(a["end_ms"] <= b["start_ms"] for a, b in itertools.pairwise(body["exclusive_turns"]))
    truth, found = reference.get_overlap(), marked.get_overlap()
    hit = truth.crop(found, mode="intersection").duration()
    precision, recall = hit / max(found.duration(), 1e-9), hit / truth.duration()
    der_marked, der_exclusive = DER(reference, marked), DER(reference, exclusive)
    # The bench's nine such meetings: DER 9.6% with overlap marked (segmentation-3.0), 16% without.
    assert precision >= 0.5 and recall >= 0.2, (precision, recall)
    assert der_marked <= der_exclusive - 0.02 and der_marked <= 0.15, (der_marked, der_exclusive)


def test_real_recording_beats_the_one_speaker_baseline(diar: str, auth: dict[str, str]) -> None:
    """pyannote.audio's bundled sample: 30 s of real two-person conversation with reference turns."""
    reference = load_rttm(str(PHONE_CALL / "sample.rttm"))["sample"]
    one_speaker = Annotation()
    for segment in reference.get_timeline().support():
        one_speaker[segment] = "everyone"
    baseline = DER(reference, one_speaker)
    response = httpx.post(
        f"{diar}/diarize-file",
        files={"audio_file": ("sample.wav", (PHONE_CALL / "sample.wav").read_bytes())},
        data={"session_id": "s-42", "rttm": "true"},
        headers=auth,
        timeout=120,
    )
    body = response.json()
    der = DER(reference, annotation(body["turns"]))
    assert body["num_speakers"] == 2 and body["session_id"] == "s-42"
    # 3.3% with CAM++ embeddings and overlap from segmentation-3.0 (14.0% with resemblyzer's GE2E).
    assert der <= 0.08 and der < baseline / 3, (der, baseline)
    rttm_lines = body["rttm"].strip().splitlines()
    assert len(rttm_lines) == len(body["turns"]) and all(line.startswith("SPEAKER s-42 1 ") for line in rttm_lines)


def test_a_real_meeting_excerpt_within_der(diar: str, auth: dict[str, str]) -> None:
    """ami_trn00 of the dev set: 30 s of a real AMI meeting, three people, 17% of the speech
    overlapped. On 1d7488d the engine scored 52.9% here (27% of the speech missed, one voice
    split in two: confusion 25%); now 34.7%. Scored as the dev set's README says."""
    reference = load_rttm(str(DEVSET / "ami_trn00.rttm"))["ami_trn00"]
    response = httpx.post(
        f"{diar}/diarize-file",
        files={"audio_file": ("ami_trn00.wav", (DEVSET / "ami_trn00.wav").read_bytes())},
        headers=auth,
        timeout=120,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    der = DER(reference, annotation(body["turns"]), uem=Timeline([Segment(0, 30)]))
    assert der <= 0.42 and 2 <= body["num_speakers"] <= 4, (der, body["num_speakers"])


CHUNKED = """
import json, sys
from diarization_service.engines import embedded
from diarization_service.engines.base import ArrayAudio, SpeakerHints
from shared.audio import decode_audio

class Recording(ArrayAudio):
    longest = 0

    def read(self, start, end):
        self.longest = max(self.longest, end - start)
        return super().read(start, end)

audio = decode_audio(sys.argv[1])
engine = embedded.EmbeddedEngine("cpu")
whole = engine.diarize(ArrayAudio(audio), SpeakerHints())
embedded.CHUNK_S = 20.0
chunked = Recording(audio)
result = engine.diarize(chunked, SpeakerHints())
print(json.dumps({"same": result == whole, "longest_s": chunked.longest / 16000, "speakers": len(whole.speakers)}))
"""


def test_long_audio_is_read_in_chunks_with_the_same_result(tmp_path: Path) -> None:
    """The embedded engine reads a recording at most CHUNK_S at a time (VAD keeps its state across
    chunks; windows are read per chunk), and the turns are exactly those of reading it whole."""
    audio, _ = meeting(3, 14, seed=21)
    assert audio.size / 16000 > 60
    (tmp_path / "m.wav").write_bytes(wav_bytes(audio))
    run = subprocess.run(
        [str(DIARIZATION_PYTHON), "-c", CHUNKED, str(tmp_path / "m.wav")],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"same": True, "longest_s": pytest.approx(20.0, abs=0.1), "speakers": 3}, result


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
    assert vectors.shape == (6, 192)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    sim = vectors @ vectors.T
    within = [sim[i, j] for g in (range(3), range(3, 6)) for i in g for j in g if i < j]
    # The service's own line between one voice and two (what live attribution uses) holds here.
    same_speaker = response.json()["same_speaker"]
    assert min(within) > same_speaker > sim[:3, 3:].max(), (within, same_speaker, sim[:3, 3:])


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
    # Without a Content-Length (chunked transfer) the limit holds while the body streams in.
    streamed = httpx.post(f"{diar}/diarize", content=iter([b"\0" * (1 << 20)] * 9), headers=auth, timeout=60)
    assert streamed.status_code == 413 and streamed.json()["detail"]
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
            str(DIARIZATION_PYTHON),
            "-m",
            "tests.random_pipeline",
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
