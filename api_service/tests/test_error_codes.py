"""Errors a person can meet carry a stable code and its params beside the English ``detail``,
which stays exactly as it was (shared/errors.py): a sample of each kind, the API in process
against a real Redis (rate limits and quotas count there)."""

from __future__ import annotations

import io
import uuid
import wave
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api_service.app import create_app
from api_service.settings import APISettings

pytestmark = [pytest.mark.service]
PASSWORD = "correct horse battery"  # noqa: S105 - a test password
UPLOAD = "/api/v1/transcriptions/batch"


@pytest.fixture(scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> AsyncIterator[FastAPI]:
    folder = tmp_path_factory.mktemp("errors")
    settings = APISettings(
        database_url=f"sqlite+aiosqlite:///{folder}/api.db",
        redis_url=redis_url,
        livekit_url="ws://127.0.0.1:9",  # nothing listens there
        auth_jwt_secret="error-code-tests-secret-0123456789abcdef",  # noqa: S106 - a test secret
        audio_storage_dir=str(folder / "audio"),
        auth_rate_limit_per_minute=3,
        quota_uploads_per_day=4,
        batch_max_upload_bytes=1_000_000,
        intrascribe_env="development",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def client(app: FastAPI) -> httpx.AsyncClient:
    """A client from an address of its own, so each test has its own rate-limit counts."""
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://api")


async def account(api: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    made = await api.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert made.status_code == 201, made.text
    return email, {"Authorization": f"Bearer {made.json()['access_token']}"}


def refused(response: httpx.Response, status: int, code: str, detail: Any) -> dict[str, Any]:
    """The answer's status, code and unchanged detail; its params."""
    body = response.json()
    assert response.status_code == status, response.text
    assert body["code"] == code and body["detail"] == detail, body
    assert set(body) == {"detail", "code", "params"}
    return dict(body["params"])


def wav(seconds: float, noise: bool = False) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        frames = int(seconds * 16_000)
        out.writeframes(uuid.uuid4().bytes * (frames // 8) if noise else b"\0\0" * frames)
    return buffer.getvalue()


async def test_sign_in_and_sign_up_refusals(app: FastAPI) -> None:
    async with client(app) as api:
        email, _ = await account(api)
        wrong = await api.post("/api/v1/auth/login", json={"email": email, "password": "not the password"})
        assert refused(wrong, 401, "wrong_credentials", "wrong email or password") == {}
        again = await api.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
        assert refused(again, 409, "account_exists", "an account with this email exists") == {}
        # Validation keeps FastAPI's list of errors as detail; the code names what to fix.
        weak = await api.post("/api/v1/auth/signup", json={"email": "x@example.com", "password": "short"})
        assert weak.status_code == 422 and weak.json()["detail"][0]["type"] == "string_too_short"
        assert weak.json()["detail"][0]["loc"] == ["body", "password"]
        assert (weak.json()["code"], weak.json()["params"]) == ("weak_password", {"min_length": 8})
        bad = await api.post("/api/v1/auth/signup", json={"email": "not an address", "password": PASSWORD})
        assert bad.json()["detail"][0]["loc"] == ["body", "email"]
        assert (bad.json()["code"], bad.json()["params"]) == ("invalid_request", {"fields": ["email"]})
        # Past AUTH_RATE_LIMIT_PER_MINUTE (3): 429 with Retry-After, repeated in params.
        answers = [await api.post("/api/v1/auth/login", json={"email": email, "password": "nope nope"}) for _ in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 429]
        retry = int(answers[-1].headers["Retry-After"])
        params = refused(answers[-1], 429, "rate_limited", f"Too many login attempts; try again in {retry} s.")
        assert params == {"action": "login", "retry_after": retry}


async def test_upload_refusals(app: FastAPI) -> None:
    async with client(app) as api:
        _, auth = await account(api)

        async def upload(data: bytes, name: str = "clip.wav") -> httpx.Response:
            return await api.post(UPLOAD, files={"audio_file": (name, data, "audio/wav")}, headers=auth)

        many = await api.post(
            UPLOAD, files={"audio_file": ("a.wav", wav(1), "audio/wav")}, data={"num_speakers": "99"}, headers=auth
        )
        assert many.status_code == 422 and many.json()["detail"][0]["loc"] == ["body", "num_speakers"]
        assert (many.json()["code"], many.json()["params"]) == ("invalid_request", {"fields": ["num_speakers"]})
        short = await upload(wav(0.2))
        detail = "No speech found: the recording is 0.2 s long; at least 0.5 s is needed."
        assert refused(short, 422, "audio_too_short", detail) == {"seconds": 0.2, "min_seconds": 0.5}
        text = await upload(b"hello, this is not a recording\n" * 50, "notes.wav")
        assert refused(text, 415, "audio_unreadable", text.json()["detail"]) == {}
        assert text.json()["detail"].startswith("This file is not a recording we can read; send WAV")
        empty = await upload(b"")
        assert refused(empty, 415, "audio_empty", "The file is empty.") == {}
        big = await upload(wav(32, noise=True))  # ~1.02 MB: under the body limit, over the file limit
        assert refused(big, 413, "audio_too_large", "The file is larger than the limit of 1 MB.") == {"limit_mb": 1}
        # Past the body limit (file limit + multipart slack) it is refused as it streams in.
        huge = await upload(b"\0" * 1_200_000)
        assert refused(huge, 413, "body_too_large", "The request body is larger than the limit of 1 MB.") == {"limit_mb": 1.1}
        # The fifth upload of the day passes API_QUOTA_UPLOADS_PER_DAY (4); refused ones count.
        over = await upload(wav(0.2))
        params = refused(
            over, 429, "quota_exceeded", "You have used today's quota of 4 uploads; it starts again at midnight UTC."
        )
        assert params["quota"] == "uploads" and params["limit"] == 4 and 0 < params["retry_after"] <= 86400
        assert params["retry_after"] == int(over.headers["Retry-After"])


async def test_meetings_and_unavailable_services(app: FastAPI) -> None:
    async with client(app) as api:
        _, owner = await account(api)
        _, guest = await account(api)
        join = "/api/v1/livekit/connection-details"
        missing = await api.post(join, json={"session_id": str(uuid.uuid4()), "invite_code": "x"}, headers=guest)
        assert refused(missing, 404, "meeting_not_found", "session not found") == {}
        made = (await api.post("/api/v1/sessions/", json={"title": "Standup"}, headers=owner)).json()
        stale = await api.post(join, json={"session_id": made["id"], "invite_code": "replaced"}, headers=guest)
        assert refused(stale, 404, "meeting_not_found", "session not found") == {}
        nobody = await api.get(f"/api/v1/sessions/{made['id']}", headers=guest)
        assert refused(nobody, 404, "session_not_found", "session not found") == {}
        for status in ("live", "completed"):
            assert (await api.patch(f"/api/v1/sessions/{made['id']}", json={"status": status}, headers=owner)).status_code == 200
        ended = await api.post(join, json={"session_id": made["id"], "invite_code": made["invite_code"]}, headers=guest)
        assert refused(ended, 409, "meeting_ended", "the session is completed") == {"status": "completed"}
        # LiveKit is down: a new meeting is refused for a moment.
        down = await api.post(join, json={"title": "New"}, headers=owner)
        detail = "The LiveKit server is unavailable; try again in a few seconds."
        assert refused(down, 503, "service_unavailable", detail) == {"service": "livekit", "retry_after": 5}
        # An error without a code of its own keeps FastAPI's shape.
        assert (await api.get("/api/v1/nope")).json() == {"detail": "Not Found"}
