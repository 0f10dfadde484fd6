"""Issue 18 §2: a session shared with the people who took part in its meeting. The API in process
on SQLite with a real Redis, LiveKit's server calls faked (who is in the room is not what decides here: who
joined through the invite is): off by default; turned on, a participant reads the session and
its transcript and nothing else; strangers, those who only know the code, and removed
participants get the 404 of a missing session; turned off, access ends at once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api_service.app import create_app
from api_service.settings import APISettings
from shared.service_auth import service_header

pytestmark = [pytest.mark.service]
AGENT_KEYS = {"agent": "agent-key-for-sharing-tests-0123456789"}


class FakeLiveKit:
    """The server-side LiveKit calls of a meeting: dispatch succeeds; the room holds ``present``."""

    def __init__(self) -> None:
        self.present: set[str] = set()

    async def ensure_dispatched(self, room: str, session_id: str, **_: object) -> None:
        return None

    async def remove_participant(self, room: str, identity: str) -> bool:
        found = identity in self.present
        self.present.discard(identity)
        return found

    async def in_room(self, room: str, identity: str) -> bool:
        return identity in self.present

    async def close_room(self, room: str) -> None:
        self.present.clear()

    async def aclose(self) -> None:
        return None


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, FakeLiveKit]]:
    folder: Path = tmp_path_factory.mktemp("sharing")
    settings = APISettings(
        database_url=f"sqlite+aiosqlite:///{folder}/api.db",
        redis_url=redis_url,
        livekit_url="ws://127.0.0.1:9",
        auth_jwt_secret="sharing-tests-secret-0123456789abcdef",  # noqa: S106 - a test secret
        audio_storage_dir=str(folder / "audio"),
        service_keys=AGENT_KEYS,
        intrascribe_env="development",
    )
    app = create_app(settings)
    livekit = FakeLiveKit()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        app.state.dispatcher = livekit
        yield client, livekit


async def signup(api: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    """A new account's headers and its identity in a meeting's room."""
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    response = await api.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse battery"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}, f"user-{response.json()['user']['id']}"


async def test_a_session_is_shared_only_with_participants_and_only_while_the_owner_shares_it(
    api: tuple[httpx.AsyncClient, FakeLiveKit],
) -> None:
    client, livekit = api
    (owner, owner_identity), (guest, guest_identity) = await signup(client), await signup(client)
    (removed, removed_identity), (stranger, _), (has_code, _) = await signup(client), await signup(client), await signup(client)
    started = await client.post("/api/v1/livekit/connection-details", json={"title": "Roadmap"}, headers=owner)
    assert started.status_code == 200, started.text
    sid = started.json()["sessionId"]
    detail = (await client.get(f"/api/v1/sessions/{sid}", headers=owner)).json()
    assert detail["share_with_participants"] is False and detail["participants"] == []
    invite = detail["invite_code"]
    for headers, identity, name in ((guest, guest_identity, "Gus"), (removed, removed_identity, "Rita")):
        joined = await client.post(
            "/api/v1/livekit/connection-details",
            json={"session_id": sid, "invite_code": invite, "participant_name": name},
            headers=headers,
        )
        assert joined.status_code == 200, joined.text
        livekit.present.add(identity)
    lines = [
        {"segment_id": "s-1", "speaker": owner_identity, "speaker_name": "Olga", "start_ms": 0, "end_ms": 2000},
        {"segment_id": "s-2", "speaker": guest_identity, "speaker_name": "Gus", "start_ms": 2500, "end_ms": 5000},
    ]
    lines = [{**line, "text": text} for line, text in zip(lines, ["Welcome, everyone.", "We ship on May 3."], strict=True)]
    agent = service_header("agent", AGENT_KEYS)
    stored = await client.post(f"/internal/v1/sessions/{sid}/segments", json={"segments": lines}, headers=agent)
    assert stored.status_code == 200, stored.text
    removing = await client.delete(f"/api/v1/sessions/{sid}/participants/{removed_identity}", headers=owner)
    assert removing.status_code == 204, removing.text
    assert (await client.post(f"/api/v1/sessions/{sid}/end", headers=owner)).status_code == 200

    async def share(on: bool, headers: dict[str, str]) -> httpx.Response:
        return await client.patch(f"/api/v1/sessions/{sid}", json={"share_with_participants": on}, headers=headers)

    async def reads(headers: dict[str, str]) -> tuple[int, int]:
        session = await client.get(f"/api/v1/shared/{sid}", headers=headers)
        transcript = await client.get(f"/api/v1/shared/{sid}/transcript", headers=headers)
        return session.status_code, transcript.status_code

    # Off by default: nobody but the owner reads it, and a refusal is the 404 of a missing session.
    assert await reads(guest) == (404, 404)
    refused = await client.get(f"/api/v1/shared/{sid}", headers=guest)
    assert refused.json() == (await client.get(f"/api/v1/shared/{uuid.uuid4()}", headers=guest)).json()
    assert refused.json()["code"] == "session_not_found"
    assert await reads(owner) == (200, 200)

    # Only the owner turns it on.
    assert (await share(True, guest)).status_code == 404
    shared = await share(True, owner)
    assert shared.status_code == 200 and shared.json()["share_with_participants"] is True
    assert [(p["identity"], p["display_name"], p["removed"]) for p in shared.json()["participants"]] == [
        (guest_identity, "Gus", False),
        (removed_identity, "Rita", True),
    ]

    assert await reads(guest) == (200, 200)
    view = (await client.get(f"/api/v1/shared/{sid}", headers=guest)).json()
    assert view["title"] == "Roadmap" and view["status"] == "completed" and view["segment_count"] == 2
    assert {s["label"] for s in view["speakers"]} == {owner_identity, guest_identity}
    assert view["summary"] is None
    assert not {"invite_code", "vocabulary", "redaction", "template_id", "participants"} & set(view), view
    theirs = (await client.get(f"/api/v1/shared/{sid}/transcript", headers=guest)).json()
    owners = (await client.get(f"/api/v1/sessions/{sid}/transcript", headers=owner)).json()
    assert theirs == owners and [s["text"] for s in theirs["segments"]] == ["Welcome, everyone.", "We ship on May 3."]

    # Strangers, someone who only had the code, and a removed participant: as if it did not exist.
    assert await reads(stranger) == (404, 404)
    assert await reads(has_code) == (404, 404)
    assert await reads(removed) == (404, 404)

    # Reading is all a participant may do: the owner's routes are the 404 of another user's session.
    for method, path, body in (
        ("GET", f"/api/v1/sessions/{sid}", None),
        ("PATCH", f"/api/v1/sessions/{sid}", {"title": "Mine now"}),
        ("DELETE", f"/api/v1/sessions/{sid}", None),
        ("GET", f"/api/v1/sessions/{sid}/transcript", None),
        ("GET", f"/api/v1/sessions/{sid}/export?format=md", None),
        ("GET", f"/api/v1/sessions/{sid}/recordings", None),
        ("GET", f"/api/v1/sessions/{sid}/summaries", None),
        ("PATCH", f"/api/v1/sessions/{sid}/speakers/{guest_identity}", {"display_name": "Boss"}),
        ("POST", f"/api/v1/sessions/{sid}/invite-code", None),
        ("DELETE", f"/api/v1/sessions/{sid}/participants/{removed_identity}", None),
    ):
        answer = await client.request(method, path, json=body, headers=guest)
        assert answer.status_code == 404, (method, path, answer.text)
    assert (await client.get(f"/api/v1/sessions/{sid}", headers=owner)).json()["title"] == "Roadmap"

    # Turned off: access ends at once.
    assert (await share(False, owner)).status_code == 200
    assert await reads(guest) == (404, 404)
    assert await reads(owner) == (200, 200)


async def test_a_removed_participant_stays_removed_when_they_come_back_through_the_invite(
    api: tuple[httpx.AsyncClient, FakeLiveKit],
) -> None:
    """Removing someone who already left (the meeting still running, or after it) still takes
    their access away; joining again with a link that still works gives them the room, not the
    transcript. Removing someone who never joined is a 404."""
    client, livekit = api
    (owner, _), (guest, guest_identity) = await signup(client), await signup(client)
    sid = (await client.post("/api/v1/livekit/connection-details", json={}, headers=owner)).json()["sessionId"]
    await client.patch(f"/api/v1/sessions/{sid}", json={"share_with_participants": True}, headers=owner)
    invite = (await client.get(f"/api/v1/sessions/{sid}", headers=owner)).json()["invite_code"]
    join = {"session_id": sid, "invite_code": invite}
    assert (await client.post("/api/v1/livekit/connection-details", json=join, headers=guest)).status_code == 200
    assert (await client.get(f"/api/v1/shared/{sid}", headers=guest)).status_code == 200  # left at once: still a participant
    assert (await client.delete(f"/api/v1/sessions/{sid}/participants/{guest_identity}", headers=owner)).status_code == 204
    assert (await client.get(f"/api/v1/shared/{sid}", headers=guest)).status_code == 404
    assert (await client.post("/api/v1/livekit/connection-details", json=join, headers=guest)).status_code == 200
    livekit.present.add(guest_identity)
    assert (await client.get(f"/api/v1/shared/{sid}", headers=guest)).status_code == 404
    nobody = await client.delete(f"/api/v1/sessions/{sid}/participants/user-{uuid.uuid4()}", headers=owner)
    assert nobody.status_code == 404
