"""Recordings in Supabase Storage (AUDIO_STORAGE=supabase), through real API and worker processes
and a local stand-in for the Storage API (tests/supabase_storage_server.py): an upload lands in the
private bucket and is transcribed from there; playback is a redirect to a signed URL that serves
the same bytes and expires; deleting the session deletes the object; a bad service key and a
recording that vanished from the bucket fail with a clear reason."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.components import StackPorts, python_service, service_env
from devstack.procs import free_port
from devstack.pytest_plugin import Servers, ServiceFactory
from tests.speech import meeting, wav_bytes
from tests.supabase_storage_server import FakeSupabaseStorage
from tests.test_batch import Receiver, verify

pytestmark = [pytest.mark.e2e]
BUCKET = "meeting-audio"
TTL_S = 60


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSupabaseStorage]:
    with FakeSupabaseStorage() as server:
        yield server


def supabase_env(stack: Servers, fake: FakeSupabaseStorage, redis_url: str, workdir: Path, key: str) -> dict[str, str]:
    """An API (and worker) of their own, on their own Redis database, using the stack's model
    services and secrets (so the stack's user tokens work here)."""
    assert stack.secrets is not None
    return {
        "AUDIO_STORAGE": "supabase",
        "SUPABASE_URL": fake.url,
        "SUPABASE_SERVICE_KEY": key,
        "SUPABASE_STORAGE_BUCKET": BUCKET,
        "SUPABASE_SIGNED_URL_TTL_S": str(TTL_S),
        "AUDIO_STORAGE_DIR": str(workdir / "scratch"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/intrascribe.db",
        "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/3",
        "STT_URL": stack.url("stt"),
        "DIARIZATION_URL": stack.url("diarization"),
        "SERVICE_KEYS": json.dumps(stack.secrets.service_keys),
        "AUTH_JWT_SECRET": stack.secrets.auth_jwt_secret,
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    }


@pytest.fixture(scope="module")
def api(
    stack: Servers, services: ServiceFactory, redis_url: str, fake: FakeSupabaseStorage, tmp_path_factory: pytest.TempPathFactory
) -> str:
    env = supabase_env(stack, fake, redis_url, tmp_path_factory.mktemp("supabase"), fake.service_key)
    url = services.start("api_service", "API_PORT", env, name="api-supabase")
    services.start("api_service", "WORKER_HTTP_PORT", env, name="worker-supabase", main="api_service.worker")
    return url


@pytest.fixture(scope="module")
def auth(stack: Servers) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.user_token('supabase-user')}"}


def upload(api: str, auth: dict[str, str], data: bytes, **form: str) -> httpx.Response:
    return httpx.post(
        f"{api}/api/v1/transcriptions/batch", files={"audio_file": ("standup.wav", data)}, data=form, headers=auth, timeout=60
    )


def wait_for(api: str, auth: dict[str, str], job_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{api}/api/v1/jobs/{job_id}", headers=auth).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job did not finish: {job}")


def test_an_upload_is_kept_in_the_private_bucket_played_through_signed_urls_and_deleted_with_its_session(
    api: str, auth: dict[str, str], fake: FakeSupabaseStorage, stack: Servers
) -> None:
    assert fake.buckets[BUCKET]["public"] is False  # created private by the API's readiness check
    audio, _ = meeting(2, 3, seed=31)
    data = wav_bytes(audio)
    accepted = upload(api, auth, data, title="Stand-up")
    assert accepted.status_code == 202, accepted.text
    session_id, job_id = accepted.json()["session_id"], accepted.json()["job_id"]
    [(name, content)] = [(n, c) for n, c in fake.stored(BUCKET).items() if n.startswith(f"{session_id}/")]
    assert name.endswith(".audio") and content == data  # a server-chosen name, not the upload's
    # The worker reads it back from the bucket and transcribes it.
    job = wait_for(api, auth, job_id)
    assert job["status"] == "completed", job
    segments = httpx.get(f"{api}/api/v1/sessions/{session_id}/transcript", headers=auth).json()["segments"]
    assert segments and all(s["speaker"] for s in segments)
    assert ("GET", f"/storage/v1/object/{BUCKET}/{name}", 200) in fake.requests

    [recording] = httpx.get(f"{api}/api/v1/sessions/{session_id}/recordings", headers=auth).json()
    assert recording["bytes"] == len(data) and recording["content_type"] == "audio/wav"
    audio_url = f"{api}/api/v1/sessions/{session_id}/recordings/{recording['id']}/audio"
    redirect = httpx.get(audio_url, headers=auth)
    assert redirect.status_code == 307 and redirect.headers["cache-control"] == "no-store"
    signed = redirect.headers["location"]
    assert signed.startswith(f"{fake.url}/storage/v1/object/sign/{BUCKET}/{name}?token=")
    played = httpx.get(signed)  # no credentials: the token is the permission
    assert played.status_code == 200 and played.content == data and played.headers["content-type"] == "audio/wav"
    assert httpx.get(audio_url, headers=auth, follow_redirects=True).content == data
    seek = httpx.get(signed, headers={"Range": "bytes=100-199"})
    assert seek.status_code == 206 and seek.content == data[100:200]
    # The bucket is private: no public URL, no download without the service key, no forged token.
    assert httpx.get(f"{fake.url}/storage/v1/object/public/{BUCKET}/{name}").json()["error"] == "Bucket not found"
    anonymous = httpx.get(f"{fake.url}/storage/v1/object/{BUCKET}/{name}", headers={"Authorization": f"Bearer {fake.anon_key}"})
    assert anonymous.status_code == 400 and anonymous.json()["statusCode"] == "403"
    forged = signed[: signed.index("token=") + 6] + fake.key("service_role", "another-projects-jwt-secret-of-32-bytes")
    assert httpx.get(forged).json() == {
        "statusCode": "400",
        "code": "InvalidJWT",
        "error": "InvalidJWT",
        "message": "signature verification failed",
    }
    # The signed URL is short-lived.
    fake.clock_offset_s = TTL_S + 1
    try:
        expired = httpx.get(signed)
    finally:
        fake.clock_offset_s = 0
    assert expired.status_code == 400 and expired.json()["message"] == '"exp" claim timestamp check failed'
    # Someone else's session stays hidden.
    other = {"Authorization": f"Bearer {stack.user_token('someone-else')}"}
    assert httpx.get(audio_url, headers=other).status_code == 404

    assert httpx.delete(f"{api}/api/v1/sessions/{session_id}", headers=auth).status_code == 204
    assert name not in fake.stored(BUCKET)
    assert ("DELETE", f"/storage/v1/object/{BUCKET}", 200) in fake.requests
    assert httpx.get(signed).json()["message"] == "Object not found"


def test_too_big_for_the_bucket_answers_413_and_leaves_nothing(api: str, auth: dict[str, str], fake: FakeSupabaseStorage) -> None:
    before = fake.stored(BUCKET), httpx.get(f"{api}/api/v1/sessions/", headers=auth).json()["total"]
    fake.buckets[BUCKET]["file_size_limit"] = 20_000
    try:
        response = upload(api, auth, wav_bytes(meeting(2, 2, seed=3)[0]))
    finally:
        fake.buckets[BUCKET]["file_size_limit"] = None
    assert response.status_code == 413 and "bucket" in response.json()["detail"], response.text
    assert (fake.stored(BUCKET), httpx.get(f"{api}/api/v1/sessions/", headers=auth).json()["total"]) == before


def test_a_recording_gone_from_the_bucket_fails_the_job_and_the_uploads_webhook_hears_it(
    api: str, auth: dict[str, str], fake: FakeSupabaseStorage
) -> None:
    receiver = Receiver()  # fails its first delivery with a 500
    fake.hold_downloads()
    try:
        accepted = upload(api, auth, wav_bytes(meeting(2, 2, seed=8)[0]), webhook_url=receiver.url)
        assert accepted.status_code == 202, accepted.text
        body = accepted.json()
        deadline = time.monotonic() + 60
        while fake.downloads_waiting == 0:  # the worker is fetching it now
            assert time.monotonic() < deadline
            time.sleep(0.05)
        [name] = [n for n in fake.stored(BUCKET) if n.startswith(body["session_id"])]
        fake.delete_object(BUCKET, name)
    finally:
        fake.release_downloads()
    job = wait_for(api, auth, body["job_id"])
    assert job["status"] == "failed" and "Object not found" in job["error"], job
    assert job["webhook_url"] == receiver.url
    deadline = time.monotonic() + 60
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    headers, payload = receiver.received[-1]
    assert headers["x-intrascribe-event"] == "job.failed"
    assert verify(body["webhook_secret"], payload, headers["x-intrascribe-signature"])
    data = json.loads(payload)["data"]
    assert data["job_id"] == body["job_id"] and "Object not found" in data["error"]
    [delivery] = httpx.get(f"{api}/api/v1/jobs/{body['job_id']}/deliveries", headers=auth).json()
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2
    receiver.server.should_exit = True


def test_a_bad_service_key_is_a_clear_error(
    stack: Servers, services: ServiceFactory, fake: FakeSupabaseStorage, redis_url: str, tmp_path: Path, auth: dict[str, str]
) -> None:
    wrong = fake.key("service_role", "not-this-projects-jwt-secret-32-bytes")
    port = free_port()
    env = {
        **service_env(StackPorts(), services.keys),
        **supabase_env(stack, fake, redis_url, tmp_path, wrong),
        "API_PORT": str(port),
    }
    # Ready means "storage works", which it never will: wait only for the process to answer.
    proc = python_service("api-bad-key", "api_service", env, f"http://127.0.0.1:{port}/health", tmp_path).start().wait_ready()
    try:
        base = f"http://127.0.0.1:{port}"
        ready = httpx.get(f"{base}/health/ready")
        assert ready.status_code == 503
        reason = ready.json()["checks"]["storage"]
        assert "SUPABASE_SERVICE_KEY" in reason and "signature verification failed" in reason
        refused = upload(base, auth, wav_bytes(meeting(2, 2, seed=4)[0]))
        assert refused.status_code == 503 and "SUPABASE_SERVICE_KEY" in refused.json()["detail"], refused.text
        assert httpx.get(f"{base}/api/v1/sessions/", headers=auth).json()["total"] == 0
        assert list((tmp_path / "scratch").rglob("*.wav")) == []  # the spooled upload is gone too
    finally:
        proc.stop()
