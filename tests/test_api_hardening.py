"""The running API under abuse: open event streams hold no database connection (a list stays
fast with many of them open); oversized bodies are refused with 413 before any authentication
work, whether they declare their length or stream it; odd invite codes are a 4xx."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from devstack.components import ROOT, redis_server
from devstack.procs import free_port
from devstack.pytest_plugin import Servers, ServiceFactory
from tests.hostile import CORPUS
from tests.speech import wav_bytes

pytestmark = [pytest.mark.service]

STREAMS = 60


def own_api_env(stack: Servers, workdir: Path, redis_url: str, redis_db: int | None = None, **settings: str) -> dict[str, str]:
    """Settings for an API (and worker) of a test's own: its own database, audio folder and Redis
    database (``redis_db`` of the server at ``redis_url``), the stack's user-token secret, and
    ``settings`` (names as environment variables)."""
    return {
        "REDIS_URL": redis_url if redis_db is None else f"{redis_url.rsplit('/', 1)[0]}/{redis_db}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/db.sqlite",
        "AUDIO_STORAGE_DIR": str(workdir / "audio"),
        "AUTH_JWT_SECRET": stack.secrets.auth_jwt_secret if stack.secrets else "",
        **settings,
    }


def median_list_latency(client: httpx.Client, rounds: int = 7) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        assert client.get("/api/v1/sessions/").status_code == 200
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


async def test_open_event_streams_leave_listing_fast(stack: Servers) -> None:
    headers = {"Authorization": f"Bearer {stack.user_token('sse-user')}"}
    api = stack.url("api")
    with httpx.Client(base_url=api, headers=headers, timeout=30) as client:
        session_id = await asyncio.to_thread(lambda: client.post("/api/v1/sessions/", json={"title": "Streams"}).json()["id"])
        idle = await asyncio.to_thread(median_list_latency, client)
        async with httpx.AsyncClient(base_url=api, headers=headers, timeout=60) as streams:
            opened: list[httpx.Response] = []
            try:
                for _ in range(STREAMS):
                    request = streams.build_request("GET", f"/api/v1/realtime/sessions/{session_id}/events")
                    response = await streams.send(request, stream=True)
                    assert response.status_code == 200
                    opened.append(response)
                await asyncio.sleep(0.5)
                loaded = await asyncio.to_thread(median_list_latency, client)
            finally:
                await asyncio.gather(*(r.aclose() for r in opened))
    assert loaded <= 2 * idle + 0.05, f"list took {loaded * 1000:.0f} ms with {STREAMS} streams open, {idle * 1000:.0f} ms idle"


def test_oversized_bodies_are_refused_before_authentication(stack: Servers) -> None:
    api = stack.url("api")
    big = b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    # Declared length: 413 without a token (an unauthenticated small body gets 401).
    declared = httpx.post(f"{api}/api/v1/sessions/", content=big, headers={"Content-Type": "application/json"}, timeout=30)
    assert declared.status_code == 413, declared.text
    assert declared.json()["detail"] == "The request body is larger than the limit of 1 MB."
    assert httpx.post(f"{api}/api/v1/sessions/", json={"title": "x"}, timeout=30).status_code == 401

    def chunks():  # no Content-Length: chunked transfer encoding
        for _ in range(40):
            yield b"x" * 65536

    streamed = httpx.post(f"{api}/api/v1/sessions/", content=chunks(), headers={"Content-Type": "application/json"}, timeout=30)
    assert streamed.status_code == 413, streamed.text
    # An upload may be far larger than a JSON body, up to BATCH_MAX_UPLOAD_BYTES.
    upload = httpx.post(f"{api}/api/v1/transcriptions/batch", files={"audio_file": ("a.wav", b"x" * 2_000_000)}, timeout=30)
    assert upload.status_code == 401
    assert httpx.get(f"{api}/health/ready", timeout=10).status_code == 200


def test_a_non_ascii_invite_code_is_refused_not_a_server_error(stack: Servers) -> None:
    api = stack.url("api")
    owner = {"Authorization": f"Bearer {stack.user_token('invite-owner')}"}
    guest = {"Authorization": f"Bearer {stack.user_token('invite-guest')}"}
    session_id = httpx.post(f"{api}/api/v1/sessions/", json={"title": "Invite"}, headers=owner, timeout=30).json()["id"]
    for code in ("пароль", "código-ü", "\u200b" * 3):
        response = httpx.post(
            f"{api}/api/v1/livekit/connection-details",
            json={"session_id": session_id, "invite_code": code},
            headers=guest,
            timeout=30,
        )
        assert response.status_code == 404, response.text


def test_an_upload_while_the_queue_is_down_fails_with_a_reason(
    stack: Servers, services: ServiceFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Redis stops after the API started: the upload is stored, then the job and its session fail
    with a sentence (503 to the uploader) instead of waiting as 'queued' for ever."""
    workdir = tmp_path_factory.mktemp("queue-down")
    port = free_port()
    broker = redis_server(port, workdir / "redis")
    broker.start().wait_ready()
    try:
        api = services.start(
            "api_service",
            "API_PORT",
            own_api_env(stack, workdir, f"redis://127.0.0.1:{port}/0"),
            name="api-queue-down",
        )
    finally:
        broker.stop()
    auth = {"Authorization": f"Bearer {stack.user_token('queue-down-user')}"}
    audio = (CORPUS / "claims_10h.wav").read_bytes()  # 1 s of real audio
    started = time.monotonic()
    refused = httpx.post(f"{api}/api/v1/transcriptions/batch", files={"audio_file": ("a.wav", audio)}, headers=auth, timeout=60)
    assert refused.status_code == 503, refused.text
    assert refused.json()["detail"].startswith("The job queue is unreachable") and "Retry-After" in refused.headers
    assert time.monotonic() - started < 30
    [session] = httpx.get(f"{api}/api/v1/sessions/", headers=auth, timeout=10).json()["items"]
    assert session["status"] == "failed" and "queue is unreachable" in (session.get("error") or ""), session


def test_sign_up_policy_and_the_admin_command(
    stack: Servers, services: ServiceFactory, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """AUTH_SIGNUP=invite: only emails an admin invited can sign up; `admin create-user` and
    `reset-password` work whatever the policy."""
    workdir = tmp_path_factory.mktemp("signup")
    env = own_api_env(stack, workdir, redis_url, AUTH_SIGNUP="invite")
    api = services.start("api_service", "API_PORT", env, name="api-invite")

    def admin(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ROOT / "api_service" / ".venv" / "bin" / "python"), "-m", "api_service.admin", *args],
            input=password,
            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env},
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def signup(email: str) -> httpx.Response:
        return httpx.post(f"{api}/api/v1/auth/signup", json={"email": email, "password": "long enough pw"}, timeout=30)

    def login(email: str, password: str) -> int:
        return httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30).status_code

    refused = signup("stranger@example.com")
    assert refused.status_code == 403 and "invitation" in refused.json()["detail"]
    assert admin("invite", "guest@example.com").returncode == 0
    assert signup("guest@example.com").status_code == 201
    assert signup("guest@example.com").status_code == 403  # the invitation is used up
    created = admin("create-user", "ops@example.com")
    assert created.returncode == 0, created.stderr
    generated = created.stdout.rsplit("password: ", 1)[1].strip()
    assert login("ops@example.com", generated) == 200
    reset = admin("reset-password", "ops@example.com", "--password-stdin", password="a new long password\n")  # noqa: S106
    assert reset.returncode == 0, reset.stderr
    assert login("ops@example.com", generated) == 401 and login("ops@example.com", "a new long password") == 200
    missing = admin("reset-password", "nobody@example.com")
    assert missing.returncode == 1 and "no account" in missing.stderr


def test_per_user_quotas_refuse_with_a_sentence(
    stack: Servers, services: ServiceFactory, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("quotas")
    api = services.start(
        "api_service",
        "API_PORT",
        own_api_env(
            stack,
            workdir,
            redis_url,
            redis_db=5,
            QUOTA_UPLOADS_PER_DAY="3",
            QUOTA_AUDIO_MINUTES_PER_DAY="1",
            QUOTA_SUMMARIES_PER_DAY="1",
            QUOTA_WEBHOOKS_PER_USER="1",
        ),
        name="api-quotas",
    )
    alice = {"Authorization": f"Bearer {stack.user_token('quota-alice')}"}
    bob = {"Authorization": f"Bearer {stack.user_token('quota-bob')}"}
    forty_seconds = wav_bytes(0.1 * np.sin(2 * np.pi * 220 * np.arange(40 * 16000) / 16000).astype(np.float32))

    def upload(auth: dict[str, str]) -> httpx.Response:
        return httpx.post(
            f"{api}/api/v1/transcriptions/batch", files={"audio_file": ("a.wav", forty_seconds)}, headers=auth, timeout=60
        )

    assert upload(alice).status_code == 202
    minutes = upload(alice)  # 80 s would pass the 1-minute quota
    assert minutes.status_code == 429 and "quota of 1 minutes of uploaded audio" in minutes.json()["detail"], minutes.text
    assert int(minutes.headers["Retry-After"]) <= 86400
    uploads = upload(alice)  # the third upload today: the minutes quota still refuses it
    assert uploads.status_code == 429
    refused = upload(alice)
    assert refused.status_code == 429 and "quota of 3 uploads" in refused.json()["detail"], refused.text
    assert upload(bob).status_code == 202  # quotas are per user

    def summarize(auth: dict[str, str]) -> httpx.Response:
        return httpx.post(
            f"{api}/api/v1/summarize", json={"transcription_text": "We agreed on the plan."}, headers=auth, timeout=60
        )

    assert summarize(alice).status_code == 200
    assert summarize(alice).status_code == 429

    def webhook(auth: dict[str, str]) -> httpx.Response:
        return httpx.post(
            f"{api}/api/v1/webhooks/",
            json={"url": "https://93.184.215.14/hook", "events": ["session.completed"]},
            headers=auth,
            timeout=30,
        )

    assert webhook(alice).status_code == 201
    second = webhook(alice)
    assert second.status_code == 409 and "delete one" in second.json()["detail"]


async def test_a_session_left_live_with_no_meeting_is_completed_by_the_sweep(
    stack: Servers, services: ServiceFactory, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The agent never said "completed" (it crashed): the worker completes the session once its
    room is empty, and leaves one whose room still has someone in it alone."""
    from livekit import api as lkapi
    from livekit import rtc

    workdir = tmp_path_factory.mktemp("sweep")
    env = own_api_env(
        stack,
        workdir,
        redis_url,
        redis_db=6,
        LIVEKIT_URL=stack.livekit_url,
        LIVE_SESSION_SWEEP_S="0.5",
        LIVE_SESSION_GRACE_S="0",
    )
    api = services.start("api_service", "API_PORT", env, name="api-sweep")
    services.start("api_service", "WORKER_HTTP_PORT", env, name="worker-sweep", main="api_service.worker")
    user = {"Authorization": f"Bearer {stack.user_token('sweep-user')}"}
    agent = services.headers("agent")
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:

        async def new_session(title: str) -> dict:
            return dict((await client.post("/api/v1/sessions/", json={"title": title}, headers=user)).json())

        async def go_live(row: dict) -> None:
            answer = await client.post(f"/internal/v1/sessions/{row['id']}/status", json={"status": "live"}, headers=agent)
            assert answer.status_code == 200

        async def status(row: dict) -> str:
            return str((await client.get(f"/api/v1/sessions/{row['id']}", headers=user)).json()["status"])

        occupied = await new_session("Someone is still here")
        token = (
            lkapi.AccessToken(stack.livekit_key, stack.livekit_secret)
            .with_identity("still-here")
            .with_grants(lkapi.VideoGrants(room_join=True, room=occupied["room_name"]))
            .to_jwt()
        )
        room = rtc.Room()
        await room.connect(stack.livekit_url, token)
        try:
            await go_live(occupied)
            abandoned = await new_session("Agent crashed")
            await go_live(abandoned)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and await status(abandoned) != "completed":  # noqa: ASYNC110
                await asyncio.sleep(0.3)
            assert await status(abandoned) == "completed"
            assert await status(occupied) == "live"  # swept several times meanwhile
        finally:
            await room.disconnect()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and await status(occupied) != "completed":  # noqa: ASYNC110
            await asyncio.sleep(0.3)
        assert await status(occupied) == "completed"


async def test_the_owner_rotates_the_invite_and_removes_a_participant(stack: Servers) -> None:
    from livekit import rtc

    api = stack.url("api")
    owner = {"Authorization": f"Bearer {stack.user_token('room-owner')}"}
    guest_token = stack.user_token("room-guest")
    guest = {"Authorization": f"Bearer {guest_token}"}
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        created = (await client.post("/api/v1/livekit/connection-details", json={"title": "Control"}, headers=owner)).json()
        session_id = created["sessionId"]
        old_code = (await client.get(f"/api/v1/sessions/{session_id}", headers=owner)).json()["invite_code"]

        async def join(code: str) -> httpx.Response:
            return await client.post(
                "/api/v1/livekit/connection-details", json={"session_id": session_id, "invite_code": code}, headers=guest
            )

        joined = await join(old_code)
        assert joined.status_code == 200
        # Only the owner controls the meeting.
        assert (await client.post(f"/api/v1/sessions/{session_id}/invite-code", headers=guest)).status_code == 404
        rotated = await client.post(f"/api/v1/sessions/{session_id}/invite-code", headers=owner)
        assert rotated.status_code == 200 and rotated.json()["invite_code"] != old_code
        assert (await join(old_code)).status_code == 404
        assert (await join(rotated.json()["invite_code"])).status_code == 200

        room = rtc.Room()
        left = asyncio.Event()
        room.on("disconnected", lambda *_: left.set())
        await room.connect(stack.livekit_url, joined.json()["participantToken"])
        try:
            identity = joined.json()["participantIdentity"]
            path = f"/api/v1/sessions/{session_id}/participants/{identity}"
            assert (await client.delete(path, headers=guest)).status_code == 404
            assert (await client.delete(path, headers=owner)).status_code == 204
            await asyncio.wait_for(left.wait(), 10)
            gone = await client.delete(path, headers=owner)
            assert gone.status_code == 404 and gone.json()["detail"] == f"{identity} is not in this meeting."
        finally:
            await room.disconnect()


@pytest.mark.parametrize("trusted", [True, False], ids=["behind-a-trusted-proxy", "forwarded-header-not-believed"])
def test_rate_limits_count_the_client_the_trusted_proxy_reports(
    trusted: bool, stack: Servers, services: ServiceFactory, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("proxy")
    api = services.start(
        "api_service",
        "API_PORT",
        own_api_env(
            stack,
            workdir,
            redis_url,
            redis_db=7 if trusted else 8,
            AUTH_RATE_LIMIT_PER_MINUTE="2",
            TRUSTED_PROXIES="127.0.0.1" if trusted else "10.9.9.9",
        ),
        name=f"api-proxy-{trusted}",
    )

    def login(client_address: str) -> int:
        body = {"email": "nobody@example.com", "password": "not the password"}
        headers = {"X-Forwarded-For": client_address}
        return httpx.post(f"{api}/api/v1/auth/login", json=body, headers=headers, timeout=30).status_code

    assert [login("203.0.113.7") for _ in range(3)] == [401, 401, 429]
    # Another client behind the same proxy has its own count, if the proxy is believed.
    assert login("203.0.113.8") == (401 if trusted else 429)
