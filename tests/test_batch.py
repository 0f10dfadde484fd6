"""Batch transcription through the running services: upload → durable job → speaker-attributed
transcript, scored by WER and by speaker-attributed word accuracy; a worker killed mid-job; bad
uploads refused with a reason."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from devstack.procs import free_port
from devstack.pytest_plugin import Servers, ServiceFactory
from shared.audio import SAMPLE_RATE
from tests.speech import (
    PHONE_CALL,
    RARE_NAMES,
    conversation,
    found_terms,
    mapped_accuracy,
    meeting,
    normalize,
    stm_utterances,
    wav_bytes,
    wer,
)

pytestmark = [pytest.mark.e2e]


def flac(audio: np.ndarray) -> bytes:
    return subprocess.run(
        ["sox", "-t", "wav", "-", "-t", "flac", "-"], input=wav_bytes(audio), capture_output=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def auth(stack: Servers) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.user_token('uploader-id', 'uploader@example.com')}"}


@pytest.fixture(scope="module")
def small_api(stack: Servers, services: ServiceFactory, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An API with small upload limits and the default webhook policy (no private targets)."""
    workdir = tmp_path_factory.mktemp("api-small")
    return services.start(
        "api_service",
        "API_PORT",
        {
            "REDIS_URL": redis_url,
            "BATCH_MAX_UPLOAD_BYTES": str(200_000),
            "MAX_AUDIO_SECONDS": "30",
            "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/db.sqlite",
            "AUDIO_STORAGE_DIR": str(workdir / "audio"),
            "AUTH_JWT_SECRET": stack.secrets.auth_jwt_secret if stack.secrets else "",
        },
        name="api-small",
    )


def upload(stack: Servers, auth: dict[str, str], data: bytes, name: str = "meeting.flac", **form: str) -> httpx.Response:
    return httpx.post(
        f"{stack.url('api')}/api/v1/transcriptions/batch", files={"audio_file": (name, data)}, data=form, headers=auth, timeout=60
    )


def wait_for(stack: Servers, auth: dict[str, str], job_id: str, timeout: float = 240) -> list[dict]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{stack.url('api')}/api/v1/jobs/{job_id}", headers=auth).json()
        seen.append(job)
        if job["status"] in ("completed", "failed", "cancelled"):
            return seen
        time.sleep(0.5)
    raise AssertionError(f"job did not finish: {seen[-1]}")


def attributed_accuracy(reference: list, segments: list[dict]) -> float:
    """Share of hypothesis words whose speaker matches the reference turn they fall in, under
    the best one-to-one mapping of labels."""
    pairs = []
    for segment in segments:
        for word in segment["words"]:
            middle = (word["start_ms"] + word["end_ms"]) / 2000
            truth = next((t.speaker for t in reference if t.start_s - 0.3 <= middle <= t.end_s + 0.3), None)
            if truth:
                pairs.append((truth, segment["speaker"]))
    return mapped_accuracy(pairs)


def test_upload_becomes_a_speaker_attributed_transcript(stack: Servers, auth: dict[str, str]) -> None:
    audio, turns = meeting(3, 9, seed=77)
    started = time.monotonic()
    response = upload(stack, auth, flac(audio), title="Vendor review", language="en")
    assert response.status_code == 202 and time.monotonic() - started < 1.5, response.text
    job_id, session_id = response.json()["job_id"], response.json()["session_id"]
    history = wait_for(stack, auth, job_id)
    assert history[-1]["status"] == "completed", history[-1]
    progress = [j["progress"] for j in history]
    assert progress == sorted(progress) and progress[-1] == 100

    transcript = httpx.get(f"{stack.url('api')}/api/v1/sessions/{session_id}/transcript", headers=auth).json()
    segments = transcript["segments"]
    hypothesis = " ".join(s["text"] for s in segments)
    assert wer(" ".join(t.text for t in turns), hypothesis) <= 0.15, hypothesis
    assert len({s["speaker"] for s in segments}) == 3
    assert attributed_accuracy(turns, segments) >= 0.9
    assert len({s["segment_id"] for s in segments}) == len(segments)
    session = httpx.get(f"{stack.url('api')}/api/v1/sessions/{session_id}", headers=auth).json()
    assert session["status"] == "completed" and session["source"] == "upload" and session["title"] == "Vendor review"
    assert abs(session["duration_ms"] - audio.size * 1000 // SAMPLE_RATE) <= 1
    srt = httpx.get(f"{stack.url('api')}/api/v1/sessions/{session_id}/export", params={"format": "srt"}, headers=auth).text
    assert srt.startswith("1\n00:00:0") and "SPEAKER_00" in srt


def test_a_real_phone_call_keeps_every_word_to_the_end(stack: Servers, auth: dict[str, str]) -> None:
    """pyannote's two-person call: Whisper ended its one decode of the 23 s clip at 25-27 s, and
    the last utterance was lost (WER 27%). The bound is what the embedded base model reaches on
    this 8 kHz call: it mishears a few words ("a beep", "what can I say") in any decoding mode;
    sequential faster-whisper on the whole file scores 18-26%."""
    reference = stm_utterances(PHONE_CALL / "sample.stm")
    accepted = upload(stack, auth, (PHONE_CALL / "sample.wav").read_bytes(), name="sample.wav").json()
    assert wait_for(stack, auth, accepted["job_id"])[-1]["status"] == "completed"
    segments = httpx.get(f"{stack.url('api')}/api/v1/sessions/{accepted['session_id']}/transcript", headers=auth).json()[
        "segments"
    ]
    hypothesis = " ".join(s["text"] for s in segments)
    last = reference[-1]  # "Oh, I don't hear that in New Jersey now.", from 28.4 s
    # The words that end inside it (with a second of slack, the previous speaker's last words
    # came in, and how many depends on how the model hears them on this CPU).
    tail = " ".join(w["text"] for s in segments for w in s["words"] if w["end_ms"] > last.start_s * 1000)
    assert normalize(tail).endswith("new jersey now") and wer(last.text, tail) <= 0.34, (tail, hypothesis)
    # Whisper base's int8 decode differs with the CPU: 17.3% WER on one machine, 21.0% on an AMD
    # EPYC one (same lock file, same model). The bound is for lost speech, not for one CPU's decode.
    assert wer(" ".join(u.text for u in reference), hypothesis) <= 0.23, hypothesis


def test_an_uploads_vocabulary_spells_its_names_in_the_transcript(stack: Servers, auth: dict[str, str]) -> None:
    """Names the model cannot spell on its own ("from Bluffar in Tokyo with low", "Tismetana said
    the post-dress QL migration"): an upload's vocabulary (a field of comma- or line-separated
    terms) becomes its session's, and the batch transcript spells them as listed."""
    said = [RARE_NAMES[3], RARE_NAMES[4]]
    audio, _utterances = conversation([(voice, text) for voice, text, _terms in said], gap_s=1.0)
    refused = upload(stack, auth, flac(audio), vocabulary="Grafana, ***")
    assert refused.status_code == 422 and refused.json()["detail"] == "Vocabulary term 2 ('***') has no letters or digits."
    accepted = upload(stack, auth, flac(audio), language="en", vocabulary="Grafana, Kubeflow\nTsvetana,PostgreSQL\n").json()
    assert wait_for(stack, auth, accepted["job_id"])[-1]["status"] == "completed"
    session = httpx.get(f"{stack.url('api')}/api/v1/sessions/{accepted['session_id']}", headers=auth).json()
    assert session["vocabulary"] == ["Grafana", "Kubeflow", "Tsvetana", "PostgreSQL"]
    segments = httpx.get(f"{stack.url('api')}/api/v1/sessions/{accepted['session_id']}/transcript", headers=auth).json()[
        "segments"
    ]
    hypothesis = " ".join(s["text"] for s in segments)
    assert found_terms([term for _voice, _text, terms in said for term in terms], hypothesis) >= 3, hypothesis


def test_job_events_stream_progress_and_the_template_summary_follows(stack: Servers, auth: dict[str, str]) -> None:
    templates = httpx.get(f"{stack.url('api')}/api/v1/templates/", headers=auth).json()
    minutes = next(t for t in templates if t["name"] == "General meeting minutes")
    audio, _ = meeting(2, 4, seed=5)
    accepted = upload(stack, auth, flac(audio), template_id=minutes["id"]).json()
    events = []
    with httpx.stream("GET", f"{stack.url('api')}/api/v1/jobs/{accepted['job_id']}/events", headers=auth, timeout=240) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(line)
    assert '"status": "completed"' in events[-1] and len(events) >= 2
    stored = httpx.get(f"{stack.url('api')}/api/v1/sessions/{accepted['session_id']}/summaries", headers=auth).json()
    assert len(stored) == 1 and stored[0]["template_id"] == minutes["id"]
    assert stored[0]["model"] == "extractive-fallback"  # the test stack configures no LLM


def test_retranscribe_keeps_the_earlier_version(stack: Servers, auth: dict[str, str]) -> None:
    audio, _ = meeting(2, 4, seed=9)
    accepted = upload(stack, auth, flac(audio)).json()
    wait_for(stack, auth, accepted["job_id"])
    again = httpx.post(
        f"{stack.url('api')}/api/v1/sessions/{accepted['session_id']}/retranscribe", json={"num_speakers": 2}, headers=auth
    ).json()
    assert wait_for(stack, auth, again["job_id"])[-1]["status"] == "completed"
    base = f"{stack.url('api')}/api/v1/sessions/{accepted['session_id']}/transcript"
    latest, first = httpx.get(base, headers=auth).json(), httpx.get(base, params={"version": 1}, headers=auth).json()
    assert latest["version"] == 2 and first["version"] == 1
    assert normalize(" ".join(s["text"] for s in first["segments"])) and latest["segments"]


def test_a_killed_worker_does_not_lose_the_job_or_duplicate_segments(stack: Servers, auth: dict[str, str]) -> None:
    audio, _ = meeting(2, 24, seed=11)  # long enough to be caught mid-flight
    job_id = upload(stack, auth, flac(audio)).json()["job_id"]
    worker = stack.processes["worker"]
    deadline = time.monotonic() + 60
    while httpx.get(f"{stack.url('api')}/api/v1/jobs/{job_id}", headers=auth).json()["stage"] not in ("transcribe", "align"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert worker.pid is not None
    worker.proc.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
    worker.proc.wait()  # type: ignore[union-attr]
    worker.start().wait_ready()
    history = wait_for(stack, auth, job_id, timeout=300)
    assert history[-1]["status"] == "completed", history[-1]
    session_id = history[-1]["session_id"]
    segments = httpx.get(f"{stack.url('api')}/api/v1/sessions/{session_id}/transcript", headers=auth).json()["segments"]
    ids = [s["segment_id"] for s in segments]
    assert ids and len(ids) == len(set(ids))


def test_cancel(stack: Servers, auth: dict[str, str]) -> None:
    audio, _ = meeting(2, 16, seed=13)
    accepted = upload(stack, auth, flac(audio)).json()
    cancelled = httpx.post(f"{stack.url('api')}/api/v1/jobs/{accepted['job_id']}/cancel", headers=auth)
    assert cancelled.json()["status"] == "cancelled"
    assert wait_for(stack, auth, accepted["job_id"])[-1]["status"] == "cancelled"
    assert httpx.post(f"{stack.url('api')}/api/v1/jobs/{accepted['job_id']}/cancel", headers=auth).status_code == 409
    other = {"Authorization": f"Bearer {stack.user_token('someone-else')}"}
    assert httpx.get(f"{stack.url('api')}/api/v1/jobs/{accepted['job_id']}", headers=other).status_code == 404


def test_bad_uploads_are_refused_with_a_reason(stack: Servers, auth: dict[str, str], small_api: str, tmp_path: Path) -> None:
    video = tmp_path / "v.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=blue:s=32x32:d=0.5", "-c:v", "libvpx", str(video)], check=True
    )
    good = wav_bytes(np.zeros(SAMPLE_RATE, np.float32))
    cases = {
        "empty": (b"", 415),
        "text": (b"hello, this is not audio" * 40, 415),
        "video": (video.read_bytes(), 415),
        "truncated": (good[:40], 415),
    }
    for name, (data, expected) in cases.items():
        response = upload(stack, auth, data, name=f"{name}.wav")
        assert response.status_code == expected, (name, response.text)
        assert response.json()["detail"]
    # Size and duration limits, on an API configured small.
    small = small_api
    big = httpx.post(
        f"{small}/api/v1/transcriptions/batch", files={"audio_file": ("big.wav", b"\0" * 300_000)}, headers=auth, timeout=60
    )
    assert big.status_code == 413
    long = httpx.post(
        f"{small}/api/v1/transcriptions/batch",
        headers=auth,
        timeout=60,
        files={"audio_file": ("long.flac", flac(np.zeros(SAMPLE_RATE * 40, np.float32)))},
    )
    assert long.status_code == 413 and "limit" in long.json()["detail"]
    assert httpx.get(f"{stack.url('api')}/health/ready").status_code == 200
    sessions = httpx.get(f"{stack.url('api')}/api/v1/sessions/", params={"status": "processing"}, headers=auth).json()
    assert all(s["title"] not in ("empty", "text", "video", "truncated") for s in sessions["items"])  # nothing half-created


class Receiver:
    """A webhook endpoint on loopback that fails its first delivery with a 500."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=500 if len(self.received) == 1 else 204)

        port = free_port()
        self.url = f"http://127.0.0.1:{port}/hook"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()


def verify(secret: str, body: bytes, header: str) -> bool:
    """A receiver's check, written independently of the sender's code."""
    import hashlib
    import hmac

    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return abs(time.time() - int(parts["t"])) < 300 and hmac.compare_digest(expected, parts["v1"])


def test_webhooks_are_signed_retried_and_logged(stack: Servers) -> None:
    import json

    receiver = Receiver()
    auth = {"Authorization": f"Bearer {stack.user_token('hooked-id')}"}
    created = httpx.post(
        f"{stack.url('api')}/api/v1/webhooks/",
        json={"url": receiver.url, "events": ["session.completed", "job.failed"]},
        headers=auth,
    ).json()
    assert created["secret"] and "secret" not in httpx.get(f"{stack.url('api')}/api/v1/webhooks/", headers=auth).json()[0]
    audio, _ = meeting(2, 3, seed=21)
    job_id = upload(stack, auth, flac(audio)).json()["job_id"]
    assert wait_for(stack, auth, job_id)[-1]["status"] == "completed"
    deadline = time.monotonic() + 60
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(receiver.received) == 2  # the first attempt got a 500 and was retried
    headers, body = receiver.received[-1]
    assert headers["x-intrascribe-event"] == "session.completed"
    assert verify(created["secret"], body, headers["x-intrascribe-signature"])
    assert not verify("another secret", body, headers["x-intrascribe-signature"])
    assert json.loads(body)["data"]["job_id"] == job_id
    log = httpx.get(f"{stack.url('api')}/api/v1/webhooks/{created['id']}/deliveries", headers=auth).json()
    assert log[0]["status"] == "delivered" and log[0]["attempts"] == 2 and log[0]["response_status"] == 204
    other = {"Authorization": f"Bearer {stack.user_token('not-hooked')}"}
    assert httpx.get(f"{stack.url('api')}/api/v1/webhooks/{created['id']}/deliveries", headers=other).status_code == 404
    assert (
        httpx.post(
            f"{stack.url('api')}/api/v1/webhooks/", json={"url": "not a url", "events": ["job.failed"]}, headers=auth
        ).status_code
        == 422
    )
    assert (
        httpx.post(
            f"{stack.url('api')}/api/v1/webhooks/", json={"url": receiver.url, "events": ["bogus"]}, headers=auth
        ).status_code
        == 422
    )
    receiver.server.should_exit = True


def test_an_uploads_own_webhook_url_hears_its_job_signed_with_its_own_secret(stack: Servers, small_api: str) -> None:
    import json

    receiver = Receiver()  # fails its first delivery with a 500
    auth = {"Authorization": f"Bearer {stack.user_token('job-hooked-id')}"}
    audio, _ = meeting(2, 3, seed=23)
    accepted = upload(stack, auth, flac(audio), webhook_url=receiver.url)
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert body["webhook_secret"]
    assert wait_for(stack, auth, body["job_id"])[-1]["status"] == "completed"
    deadline = time.monotonic() + 60
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(receiver.received) == 2  # retried after the 500
    headers, payload = receiver.received[-1]
    assert headers["x-intrascribe-event"] == "session.completed"
    assert verify(body["webhook_secret"], payload, headers["x-intrascribe-signature"])
    assert not verify("another secret", payload, headers["x-intrascribe-signature"])
    assert json.loads(payload)["data"]["job_id"] == body["job_id"]
    api = stack.url("api")
    # The worker records the attempt once the receiver has answered: look until it has.
    deadline = time.monotonic() + 10
    while (delivery := httpx.get(f"{api}/api/v1/jobs/{body['job_id']}/deliveries", headers=auth).json()[0])[
        "status"
    ] == "pending" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2 and delivery["response_status"] == 204
    assert httpx.get(f"{api}/api/v1/jobs/{body['job_id']}", headers=auth).json()["webhook_url"] == receiver.url
    assert httpx.get(f"{api}/api/v1/webhooks/", headers=auth).json() == []  # not one of the user's webhooks
    other = {"Authorization": f"Bearer {stack.user_token('not-job-hooked')}"}
    assert httpx.get(f"{api}/api/v1/jobs/{body['job_id']}/deliveries", headers=other).status_code == 404
    # Plain uploads have no webhook secret.
    assert upload(stack, other, flac(audio)).json()["webhook_secret"] is None
    receiver.server.should_exit = True

    # Bad URLs answer 422 and leave nothing behind.
    sessions = httpx.get(f"{api}/api/v1/sessions/", headers=auth).json()["total"]
    for bad in (
        "ftp://hooks.example.com/in",
        "not a url",
        "https://" + "a" * 2000 + ".example.com/",
        "http://me:pw@127.0.0.1/in",
    ):
        refused = upload(stack, auth, flac(audio), webhook_url=bad)
        assert refused.status_code == 422, (bad, refused.text)
    assert httpx.get(f"{api}/api/v1/sessions/", headers=auth).json()["total"] == sessions
    # Loopback, private and link-local targets are refused unless WEBHOOK_ALLOW_PRIVATE_TARGETS
    # (the test stack allows them; this API keeps the default).
    short = flac(audio[: 16000 * 2])
    for private in (
        receiver.url,
        "http://localhost:8080/in",
        "http://10.1.2.3/in",
        "http://169.254.169.254/latest",
        "http://[::1]/in",
    ):
        refused = httpx.post(
            f"{small_api}/api/v1/transcriptions/batch",
            files={"audio_file": ("m.flac", short)},
            data={"webhook_url": private},
            headers=auth,
            timeout=60,
        )
        assert refused.status_code == 422 and "WEBHOOK_ALLOW_PRIVATE_TARGETS" in refused.json()["detail"], (private, refused.text)
        hook = httpx.post(f"{small_api}/api/v1/webhooks/", json={"url": private, "events": ["job.failed"]}, headers=auth)
        assert hook.status_code == 422, (private, hook.text)
