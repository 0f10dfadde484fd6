"""The API in process (``create_app`` on SQLite, called through ``httpx.ASGITransport``), for the
rules that need no other server: accounts and token checks, another user's ids answering 404,
which session status may follow which, the internal routes' service credentials and contract.
Redis is left unreachable on purpose: none of these routes may need it; so is LiveKit, whose
routes must then answer 503 with a sentence and change nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api_service.app import create_app
from api_service.settings import APISettings
from shared.contracts.internal import SessionInfo, SessionStatus
from shared.service_auth import service_header

pytestmark = [pytest.mark.unit]
AGENT_KEYS = {"agent": "agent-key-for-in-process-tests-0123456789"}


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    folder: Path = tmp_path_factory.mktemp("api")
    settings = APISettings(
        database_url=f"sqlite+aiosqlite:///{folder}/api.db",
        redis_url="redis://127.0.0.1:9/0",  # nothing listens there
        livekit_url="ws://127.0.0.1:9",  # nor there
        auth_jwt_secret="in-process-tests-secret-0123456789abcdef",  # noqa: S106 - a test secret
        audio_storage_dir=str(folder / "audio"),
        service_keys=AGENT_KEYS,
        intrascribe_env="development",  # loopback only, with livekit-server's development key
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        yield client


async def signup(api: httpx.AsyncClient) -> dict[str, str]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    response = await api.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse battery"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_search_takes_any_text(api: httpx.AsyncClient) -> None:
    """Control characters (a NUL, as the fuzz run sent) in a search are read as spaces, not a 500."""
    alice = await signup(api)
    assert (await api.post("/api/v1/sessions/", json={"title": "Budget"}, headers=alice)).status_code == 201
    # The fuzz run's query; a NUL alone (an empty search: every session); a word and a NUL.
    for q, found in (("\x1d\U0001b7e57\n\U000ea2f1\x00;\x143[\U000896de\xb8", 0), ("\x00", 1), ("Budget\x00", 1)):
        answer = await api.get("/api/v1/sessions/", params={"q": q}, headers=alice)
        assert answer.status_code == 200 and answer.json()["total"] == found, (q, answer.text)


async def test_tokens_are_checked(api: httpx.AsyncClient) -> None:
    alice = await signup(api)
    assert (await api.get("/api/v1/auth/me", headers=alice)).status_code == 200
    assert (await api.get("/api/v1/auth/me")).status_code == 401
    forged = {"Authorization": alice["Authorization"][:-4] + "AAAA"}
    answer = await api.get("/api/v1/auth/me", headers=forged)
    assert answer.status_code == 401 and "detail" in answer.json()
    wrong = await api.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "not the password"})
    assert wrong.status_code == 401


async def test_another_users_session_is_not_found(api: httpx.AsyncClient) -> None:
    alice, bob = await signup(api), await signup(api)
    created = await api.post("/api/v1/sessions/", json={"title": "Alice's"}, headers=alice)
    assert created.status_code == 201
    session_id = created.json()["id"]
    assert (await api.get(f"/api/v1/sessions/{session_id}", headers=alice)).status_code == 200
    for method, path in [
        ("GET", f"/api/v1/sessions/{session_id}"),
        ("PATCH", f"/api/v1/sessions/{session_id}"),
        ("GET", f"/api/v1/sessions/{session_id}/transcript"),
    ]:
        answer = await api.request(method, path, headers=bob, json={"title": "mine now"} if method == "PATCH" else None)
        assert answer.status_code == 404, (method, path, answer.text)
    listed = await api.get("/api/v1/sessions/", headers=bob)
    assert listed.status_code == 200 and listed.json()["total"] == 0
    assert (await api.get(f"/api/v1/sessions/{session_id}", headers=alice)).json()["title"] == "Alice's"


async def test_a_session_status_follows_the_state_machine(api: httpx.AsyncClient) -> None:
    alice = await signup(api)
    session_id = (await api.post("/api/v1/sessions/", json={}, headers=alice)).json()["id"]

    async def patch(status: str) -> httpx.Response:
        return await api.patch(f"/api/v1/sessions/{session_id}", json={"status": status}, headers=alice)

    live = await patch("live")
    assert live.status_code == 200 and live.json()["started_at"] is not None
    back = await patch("created")
    assert back.status_code == 409 and back.json()["detail"] == "a live session cannot become created"
    done = await patch("completed")
    assert done.status_code == 200 and done.json()["ended_at"] is not None
    assert (await patch("live")).status_code == 409
    assert (await patch("processing")).status_code == 200  # a finished session may be processed again


async def test_internal_routes_need_a_service_key_and_answer_their_contract(api: httpx.AsyncClient) -> None:
    alice = await signup(api)
    session_id = (await api.post("/api/v1/sessions/", json={"language": "en"}, headers=alice)).json()["id"]
    path = f"/internal/v1/sessions/{session_id}"
    assert (await api.get(path)).status_code == 401
    assert (await api.get(path, headers=alice)).status_code == 401  # a user's token is not a service key
    forged = service_header("agent", {"agent": "not-the-key-at-all-0123456789abcdef"})
    assert (await api.get(path, headers=forged)).status_code == 401
    answer = await api.get(path, headers=service_header("agent", AGENT_KEYS))
    assert answer.status_code == 200
    info = SessionInfo.model_validate_json(answer.content)
    assert info.id == session_id and info.status is SessionStatus.created and info.language == "en" and info.duration_ms == 0
    unknown = await api.get(f"/internal/v1/sessions/{uuid.uuid4()}", headers=service_header("agent", AGENT_KEYS))
    assert unknown.status_code == 404
    back = await api.post(f"{path}/status", json={"status": "created"}, headers=service_header("agent", AGENT_KEYS))
    assert back.status_code == 422 and "cannot be set back to created" in back.text


async def test_without_livekit_meeting_routes_answer_503_and_change_nothing(api: httpx.AsyncClient) -> None:
    alice = await signup(api)
    session_id = (await api.post("/api/v1/sessions/", json={"title": "No LiveKit"}, headers=alice)).json()["id"]
    for path, body in [
        ("/api/v1/livekit/connection-details", {"session_id": session_id}),
        (f"/api/v1/sessions/{session_id}/end", None),
        (f"/api/v1/sessions/{session_id}/participants/user-x", None),
    ]:
        method = "DELETE" if "/participants/" in path else "POST"
        answer = await api.request(method, path, json=body, headers=alice)
        assert answer.status_code == 503, (path, answer.text)
        assert answer.json()["detail"].startswith("The LiveKit server is unavailable") and answer.headers["Retry-After"] == "5"
    assert (await api.get(f"/api/v1/sessions/{session_id}", headers=alice)).json()["status"] == "created"


async def test_a_sessions_vocabulary_is_checked_kept_and_given_to_the_agent(api: httpx.AsyncClient) -> None:
    """A session's vocabulary: its own, else its template's; replaced by a PATCH that names it and
    kept by one that does not; what cannot be used is a 422 with a sentence; the agent reads it."""
    alice = await signup(api)
    template = await api.post(
        "/api/v1/templates/", json={"name": "Product sync", "vocabulary": ["Zorblax", " zorblax ", "Okonkwo"]}, headers=alice
    )
    assert template.status_code == 201 and template.json()["vocabulary"] == ["Zorblax", "Okonkwo"]
    tid = template.json()["id"]
    plain = await api.post("/api/v1/sessions/", json={"title": "No vocabulary"}, headers=alice)
    assert plain.json()["vocabulary"] == []
    for body, expected in (
        ({"template_id": tid}, ["Zorblax", "Okonkwo"]),
        ({"template_id": tid, "vocabulary": ["Vantrix", ""]}, ["Vantrix"]),
        ({"template_id": tid, "vocabulary": []}, []),
    ):
        created = await api.post("/api/v1/sessions/", json=body, headers=alice)
        assert created.status_code == 201 and created.json()["vocabulary"] == expected, (body, created.text)
    sid = created.json()["id"]
    patched = await api.patch(f"/api/v1/sessions/{sid}", json={"vocabulary": ["Tsvetana", "PostgreSQL"]}, headers=alice)
    assert patched.json()["vocabulary"] == ["Tsvetana", "PostgreSQL"]
    renamed = await api.patch(f"/api/v1/sessions/{sid}", json={"title": "Renamed"}, headers=alice)
    assert renamed.json()["vocabulary"] == ["Tsvetana", "PostgreSQL"]
    assert (await api.get("/api/v1/sessions/", headers=alice)).json()["items"][0]["vocabulary"] == ["Tsvetana", "PostgreSQL"]

    for vocabulary, sentence in (
        ([f"name {n}" for n in range(101)], "The vocabulary has 101 terms: keep it to 100 or fewer."),
        (["Okonkwo", "a" * 65], "Vocabulary term 2 ('aaaaaaaaaaaaaaaaaaaaa…') is 65 characters long"),
        (["--"], "Vocabulary term 1 ('--') has no letters or digits."),
    ):
        for method, path in (
            ("POST", "/api/v1/sessions/"),
            ("PATCH", f"/api/v1/sessions/{sid}"),
            ("PATCH", f"/api/v1/templates/{tid}"),
        ):
            answer = await api.request(method, path, json={"vocabulary": vocabulary}, headers=alice)
            assert answer.status_code == 422 and sentence in answer.json()["detail"][0]["msg"], (path, answer.text)
    assert (await api.get(f"/api/v1/sessions/{sid}", headers=alice)).json()["vocabulary"] == ["Tsvetana", "PostgreSQL"]

    info = await api.get(f"/internal/v1/sessions/{sid}", headers=service_header("agent", AGENT_KEYS))
    assert SessionInfo.model_validate_json(info.text).vocabulary == ["Tsvetana", "PostgreSQL"]
