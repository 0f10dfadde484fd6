"""The hostile-input corpus (tests/hostile/) sent to every endpoint that takes audio, on the
running services: batch upload, STT /transcribe (raw body and multipart) and
/v1/audio/transcriptions, diarization /diarize and /diarize-file. Each answers a 4xx whose
message is a sentence naming no server path or errno; a listener on loopback receives no
request; nothing is stored; every service stays up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from devstack.pytest_plugin import Servers
from shared.service_auth import service_header
from tests.hostile import CORPUS, DECODED_BY_CONTENT, LEAKS, Listener, corpus_files

pytestmark = [pytest.mark.service]

Send = Callable[[str, bytes], httpx.Response]


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def user(stack: Servers) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.user_token('hostile-uploader', 'hostile@example.com')}"}


@pytest.fixture(scope="module")
def endpoints(stack: Servers, user: dict[str, str]) -> dict[str, Send]:
    assert stack.secrets is not None
    service = service_header("api", stack.secrets.service_keys)
    stt, diarization, api = stack.url("stt"), stack.url("diarization"), stack.url("api")

    def post(url: str, headers: dict[str, str], **kwargs: object) -> httpx.Response:
        return httpx.post(url, headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]

    return {
        "batch upload": lambda name, data: post(f"{api}/api/v1/transcriptions/batch", user, files={"audio_file": (name, data)}),
        "stt /transcribe body": lambda name, data: post(
            f"{stt}/transcribe", {**service, "Content-Type": "application/octet-stream"}, content=data
        ),
        "stt /transcribe multipart": lambda name, data: post(f"{stt}/transcribe", service, files={"audio_file": (name, data)}),
        "stt /v1/audio/transcriptions": lambda name, data: post(
            f"{stt}/v1/audio/transcriptions", service, files={"file": (name, data)}, data={"model": "whisper-1"}
        ),
        "diarization /diarize": lambda name, data: post(
            f"{diarization}/diarize", {**service, "Content-Type": "application/octet-stream"}, content=data
        ),
        "diarization /diarize-file": lambda name, data: post(
            f"{diarization}/diarize-file", service, files={"audio_file": (name, data)}
        ),
    }


def sessions_total(stack: Servers, user: dict[str, str]) -> int:
    return int(httpx.get(f"{stack.url('api')}/api/v1/sessions/", headers=user, timeout=10).json()["total"])


@pytest.mark.parametrize("path", [p for p in corpus_files() if p.name not in DECODED_BY_CONTENT], ids=lambda p: p.name)
def test_hostile_file_gets_a_sentence_at_every_endpoint(
    path: Path, stack: Servers, user: dict[str, str], endpoints: dict[str, Send], listener: Listener
) -> None:
    data = listener.payload(path)
    before = sessions_total(stack, user)
    for endpoint, send in endpoints.items():
        response = send(path.name, data)
        assert 400 <= response.status_code < 500, f"{endpoint}: {response.status_code} {response.text[:300]}"
        assert response.status_code not in (401, 403, 404), f"{endpoint}: {response.text[:300]}"
        message = response.json()["detail"]
        assert isinstance(message, str) and message[:1].isupper() and message.endswith("."), f"{endpoint}: {message!r}"
        assert not LEAKS.search(message), f"{endpoint} leaked: {message}"
    assert listener.requests == [], f"{path.name} made a service fetch {listener.requests}"
    assert sessions_total(stack, user) == before, "a refused upload left a session behind"
    for service in ("api", "stt", "diarization"):
        assert httpx.get(f"{stack.url(service)}/health/ready", timeout=10).status_code == 200


def test_a_lying_header_is_decoded_as_what_the_file_holds(stack: Servers, endpoints: dict[str, Send]) -> None:
    data = (CORPUS / "claims_10h.wav").read_bytes()
    response = endpoints["stt /transcribe body"]("claims_10h.wav", data)
    assert response.status_code == 200, response.text
    assert abs(response.json()["duration_ms"] - 1000) <= 50  # not ten hours
    assert endpoints["diarization /diarize"]("claims_10h.wav", data).status_code == 200
