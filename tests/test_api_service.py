"""The API service as a real process, against SQLite and a real PostgreSQL, with a real Redis:
accounts and token checks, sessions, idempotent segment writes, transcript search, speakers,
exports, realtime reads, and another user's ids answering 404 everywhere."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docx
import httpx
import jwt
import psycopg
import pytest

from devstack.pytest_plugin import ServiceFactory

pytestmark = [pytest.mark.service]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api(
    request: pytest.FixtureRequest, services: ServiceFactory, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    if request.param == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        name = f"api_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        database = dsn.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + f"/{name}"
    else:
        # A folder that does not exist yet: the API makes it (as under `make up`).
        database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('api')}/not-yet/intrascribe.db"
    return services.start(
        "api_service",
        "API_PORT",
        {"DATABASE_URL": database, "REDIS_URL": redis_url, "AUTH_RATE_LIMIT_PER_MINUTE": "1000"},
        name=f"api-{request.param}",
    )


class Client:
    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def __getattr__(self, name: str):
        return getattr(self.http, name)


def signup(api: str, email: str | None = None) -> tuple[Client, dict]:
    email = email or f"{uuid.uuid4().hex[:10]}@example.com"
    response = httpx.post(f"{api}/api/v1/auth/signup", json={"email": email, "password": "correct horse battery"})
    assert response.status_code == 201, response.text
    body = response.json()
    return Client(api, body["access_token"]), body


@pytest.fixture(scope="module")
def alice(api: str) -> Client:
    return signup(api)[0]


@pytest.fixture(scope="module")
def bob(api: str) -> Client:
    return signup(api)[0]


def agent_headers(services: ServiceFactory) -> dict[str, str]:
    return services.headers("agent")


def add_segments(api: str, services: ServiceFactory, session_id: str, segments: list[dict]) -> httpx.Response:
    return httpx.post(
        f"{api}/internal/v1/sessions/{session_id}/segments", json={"segments": segments}, headers=agent_headers(services)
    )


MEETING = [
    {
        "segment_id": "trk-1",
        "speaker": "user-alice",
        "start_ms": 0,
        "end_ms": 4000,
        "text": "The quarterly budget review is on Thursday.",
        "words": [{"start_ms": 0, "end_ms": 300, "text": "The"}],
    },
    {"segment_id": "trk-2", "speaker": "user-bob", "start_ms": 4200, "end_ms": 6000, "text": "Great, I will prepare the slides."},
    {"segment_id": "trk-3", "speaker": "SPEAKER_02", "start_ms": 6100, "end_ms": 7000, "text": "Sounds good to me."},
]


@pytest.fixture(scope="module")
def meeting(api: str, alice: Client, services: ServiceFactory) -> str:
    session_id = alice.post("/api/v1/sessions/", json={"title": "Planning sync", "language": "en"}).json()["id"]
    assert add_segments(api, services, session_id, MEETING).json() == {"stored": 3, "duplicates": 0}
    return session_id


def test_accounts(api: str) -> None:
    client, body = signup(api, "Carol@Example.com")
    assert body["user"]["email"] == "carol@example.com" and body["token_type"] == "bearer"  # noqa: S105
    assert client.get("/api/v1/auth/me").json()["email"] == "carol@example.com"
    assert (
        httpx.post(f"{api}/api/v1/auth/signup", json={"email": "carol@example.com", "password": "another password"}).status_code
        == 409
    )
    login = httpx.post(f"{api}/api/v1/auth/login", json={"email": "carol@example.com", "password": "correct horse battery"})
    assert login.status_code == 200 and login.json()["user"]["id"] == body["user"]["id"]
    assert (
        httpx.post(f"{api}/api/v1/auth/login", json={"email": "carol@example.com", "password": "wrong password"}).status_code
        == 401
    )
    assert httpx.post(f"{api}/api/v1/auth/signup", json={"email": "not-an-email", "password": "long enough"}).status_code == 422
    assert httpx.post(f"{api}/api/v1/auth/signup", json={"email": "d@example.com", "password": "short"}).status_code == 422


def test_tokens_are_verified(api: str, services: ServiceFactory, alice: Client) -> None:
    secret = services.keys.auth_jwt_secret
    now = int(time.time())
    good = {"sub": "someone", "aud": "authenticated", "exp": now + 60}
    forged = jwt.encode(good, "not the secret", algorithm="HS256")
    expired = jwt.encode({**good, "exp": now - 60}, secret, algorithm="HS256")
    wrong_audience = jwt.encode({**good, "aud": "anon"}, secret, algorithm="HS256")
    unsigned = jwt.encode(good, None, algorithm="none")  # type: ignore[arg-type]
    for token in (forged, expired, wrong_audience, unsigned, "garbage"):
        response = httpx.get(f"{api}/api/v1/sessions/", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
    assert httpx.get(f"{api}/api/v1/sessions/").status_code == 401
    # A Supabase-shaped token for a user we have never seen gets a row and works.
    external = jwt.encode(
        {**good, "sub": str(uuid.uuid4()), "email": "ext@example.com", "role": "authenticated"}, secret, algorithm="HS256"
    )
    assert httpx.get(f"{api}/api/v1/sessions/", headers={"Authorization": f"Bearer {external}"}).json()["total"] == 0


def test_session_lifecycle(alice: Client) -> None:
    created = alice.post("/api/v1/sessions/", json={"title": "Lifecycle"}).json()
    sid = created["id"]
    assert created["status"] == "created" and created["room_name"] == f"intrascribe-{sid}"
    assert alice.patch(f"/api/v1/sessions/{sid}", json={"title": "Renamed"}).json()["title"] == "Renamed"
    assert (
        alice.patch(f"/api/v1/sessions/{sid}", json={"status": "completed"}).status_code == 409
    )  # created → completed skips steps
    assert alice.patch(f"/api/v1/sessions/{sid}", json={"status": "live"}).json()["started_at"]
    done = alice.patch(f"/api/v1/sessions/{sid}", json={"status": "completed"}).json()
    assert done["status"] == "completed" and done["ended_at"]
    assert alice.patch(f"/api/v1/sessions/{sid}", json={"status": "bogus"}).status_code == 422
    assert alice.delete(f"/api/v1/sessions/{sid}").status_code == 204
    assert alice.get(f"/api/v1/sessions/{sid}").status_code == 404


def test_sharing_with_participants_is_the_owners_setting_on_both_databases(alice: Client, bob: Client) -> None:
    """Issue 18 §2: off by default, only the owner changes it, and someone who never joined the
    meeting reads nothing even while it is on (tests/test_stack_e2e.py has the participants)."""
    created = alice.post("/api/v1/sessions/", json={"title": "Shared later"}).json()
    sid = created["id"]
    assert created["share_with_participants"] is False and created["participants"] == []
    assert bob.patch(f"/api/v1/sessions/{sid}", json={"share_with_participants": True}).status_code == 404
    shared = alice.patch(f"/api/v1/sessions/{sid}", json={"share_with_participants": True})
    assert shared.status_code == 200 and shared.json()["share_with_participants"] is True
    assert alice.get("/api/v1/sessions/", params={"q": "Shared later"}).json()["items"][0]["share_with_participants"] is True
    assert alice.get(f"/api/v1/shared/{sid}").json()["title"] == "Shared later"
    assert bob.get(f"/api/v1/shared/{sid}").status_code == bob.get(f"/api/v1/shared/{sid}/transcript").status_code == 404
    assert alice.delete(f"/api/v1/sessions/{sid}").status_code == 204


def test_a_vocabulary_is_stored_on_sessions_and_templates(api: str, services: ServiceFactory, alice: Client) -> None:
    """The columns of migration 0006, on SQLite and PostgreSQL: any script, the template's list
    as a new session's default, and the agent's view of it."""
    terms = ["Okonkwo", "Zoë Maréchal", "東京タワー", "PostgreSQL"]
    template = alice.post("/api/v1/templates/", json={"name": "Vocabulary", "vocabulary": terms}).json()
    assert template["vocabulary"] == terms
    session = alice.post("/api/v1/sessions/", json={"template_id": template["id"]}).json()
    assert alice.get(f"/api/v1/sessions/{session['id']}").json()["vocabulary"] == terms
    info = httpx.get(f"{api}/internal/v1/sessions/{session['id']}", headers=agent_headers(services)).json()
    assert info["vocabulary"] == terms
    assert alice.patch(f"/api/v1/sessions/{session['id']}", json={"vocabulary": []}).json()["vocabulary"] == []


def test_extraction_columns_and_stats_on_both_databases(api: str, services: ServiceFactory) -> None:
    """Migration 0007 on SQLite and PostgreSQL: templates' domains and schemas, who chose a
    session's template, an empty extraction, and the statistics' queries (dates grouped in SQL)."""
    carol = signup(api)[0]
    system = carol.get("/api/v1/templates/").json()
    sales = next(t for t in system if t["name"] == "Sales call")
    assert sales["domain"] == "sales" and sales["category"] == "call" and "budget" in sales["extraction_schema"]["properties"]
    assert next(t for t in system if t["name"] == "会议纪要")["domain"] == "general"
    schema = {"type": "object", "properties": {"名字": {"type": "string", "title": "Zoë's field"}}, "required": ["名字"]}
    own = carol.post("/api/v1/templates/", json={"name": "Mine", "domain": "hr", "extraction_schema": schema}).json()
    assert carol.get(f"/api/v1/templates/{own['id']}").json()["extraction_schema"] == schema
    made = carol.post("/api/v1/sessions/", json={"title": "With template", "template_id": sales["id"]}).json()
    assert made["template_chosen_by"] == "user" and made["classification"] is None
    bare = carol.post("/api/v1/sessions/", json={"title": "Without"}).json()
    assert bare["template_chosen_by"] is None
    assert add_segments(api, services, bare["id"], MEETING).status_code == 200
    assert carol.patch(f"/api/v1/sessions/{bare['id']}", json={"template_id": own["id"]}).json()["template_chosen_by"] == "user"
    assert carol.get(f"/api/v1/sessions/{bare['id']}/extraction").status_code == 404
    assert carol.get(f"/api/v1/sessions/{bare['id']}/extractions").json() == []
    stats = carol.get("/api/v1/stats", params={"days": 1}).json()
    assert stats["sessions"] == 2 and stats["live_minutes"] == round(7000 / 60000, 2) and stats["prompt_tokens"] == 0
    assert [(d["sessions"], d["tokens"]) for d in stats["by_day"]] == [(2, 0)]
    assert carol.get("/api/v1/admin/stats").status_code == 403  # ADMIN_EMAILS is empty here


def test_segments_are_stored_once_and_read_back(api: str, services: ServiceFactory, alice: Client, meeting: str) -> None:
    again = add_segments(api, services, meeting, MEETING[:2])
    assert again.json() == {"stored": 0, "duplicates": 2}
    transcript = alice.get(f"/api/v1/sessions/{meeting}/transcript").json()
    assert [s["segment_id"] for s in transcript["segments"]] == ["trk-1", "trk-2", "trk-3"]
    assert transcript["segments"][0]["words"][0]["text"] == "The"
    assert {s["label"] for s in transcript["speakers"]} == {"user-alice", "user-bob", "SPEAKER_02"}
    detail = alice.get(f"/api/v1/sessions/{meeting}").json()
    assert detail["status"] == "live" and detail["segment_count"] == 3 and detail["duration_ms"] == 7000
    # Only our services may write segments.
    assert httpx.post(f"{api}/internal/v1/sessions/{meeting}/segments", json={"segments": []}).status_code == 401
    assert (
        httpx.post(
            f"{api}/internal/v1/sessions/{meeting}/segments",
            json={"segments": []},
            headers={"Authorization": alice.http.headers["Authorization"]},
        ).status_code
        == 401
    )
    bad = add_segments(api, services, meeting, [{"segment_id": "x", "start_ms": -1, "end_ms": 1, "text": "t"}])
    assert bad.status_code == 422


def test_search_lists_and_pages(api: str, alice: Client, meeting: str) -> None:
    for n in range(3):
        alice.post("/api/v1/sessions/", json={"title": f"Filler {n}"})
    by_transcript = alice.get("/api/v1/sessions/", params={"q": "slides"}).json()
    assert [s["id"] for s in by_transcript["items"]] == [meeting]
    assert alice.get("/api/v1/sessions/", params={"q": "planning"}).json()["items"][0]["id"] == meeting
    assert alice.get("/api/v1/sessions/", params={"q": 'quarterly" OR "*'}).status_code == 200  # FTS syntax is not ours to parse
    page = alice.get("/api/v1/sessions/", params={"limit": 2, "offset": 1}).json()
    assert len(page["items"]) == 2 and page["total"] >= 4
    assert alice.get("/api/v1/sessions/", params={"status": "live"}).json()["items"][0]["id"] == meeting


def test_search_results_carry_their_matching_lines(api: str, services: ServiceFactory, alice: Client, meeting: str) -> None:
    """Issue 20 §3: each session a search finds brings its best-matching lines (id, time,
    speaker, text), a few at most, in the order they were said; a title match brings none."""
    found = alice.get("/api/v1/sessions/", params={"q": "slides"}).json()["items"]
    assert [item["matches"] for item in found] == [
        [{"segment_id": "trk-2", "start_ms": 4200, "speaker": "user-bob", "text": "Great, I will prepare the slides."}]
    ]
    by_title = alice.get("/api/v1/sessions/", params={"q": "planning"}).json()["items"]
    assert by_title[0]["id"] == meeting and by_title[0]["matches"] == []
    assert all(item["matches"] == [] for item in alice.get("/api/v1/sessions/").json()["items"])  # no search, no lines

    long = alice.post("/api/v1/sessions/", json={"title": "Long review"}).json()["id"]
    lines = [
        {"segment_id": f"long-{n}", "speaker": "user-alice", "start_ms": n * 1000, "end_ms": n * 1000 + 900, "text": text}
        for n, text in enumerate(
            [
                "Welcome everyone.",
                "The invoice is late.",
                "Nothing else.",
                "Send the invoice today.",
                "The invoice total is wrong.",
                "Another invoice arrived.",
                "An invoice for the invoice fees.",
            ]
        )
    ]
    assert add_segments(api, services, long, lines).status_code == 200
    hit = next(item for item in alice.get("/api/v1/sessions/", params={"q": "invoice"}).json()["items"] if item["id"] == long)
    assert len(hit["matches"]) == 3  # of 5
    assert all("invoice" in m["text"] for m in hit["matches"])
    starts = [m["start_ms"] for m in hit["matches"]]
    assert starts == sorted(starts)


def test_a_long_transcript_does_not_hide_the_lines_of_other_sessions(api: str, services: ServiceFactory, alice: Client) -> None:
    """The matching lines are read in one query for the whole page; a session with more matching
    lines than that read holds does not leave the sessions after it without theirs."""
    older = alice.post("/api/v1/sessions/", json={"title": "Crossing"}).json()["id"]
    said = {"segment_id": "z-1", "speaker": "user-bob", "start_ms": 0, "end_ms": 900, "text": "The zebra crossing is closed."}
    assert add_segments(api, services, older, [said]).status_code == 200
    newer = alice.post("/api/v1/sessions/", json={"title": "Zoo"}).json()["id"]
    lines = [
        {"segment_id": f"z-{n}", "speaker": "user-alice", "start_ms": n * 1000, "end_ms": n * 1000 + 900, "text": f"Zebra {n}."}
        for n in range(450)
    ]
    assert add_segments(api, services, newer, lines).status_code == 200
    found = {item["id"]: item["matches"] for item in alice.get("/api/v1/sessions/", params={"q": "zebra"}).json()["items"]}
    assert len(found[newer]) == 3
    assert [m["segment_id"] for m in found[older]] == ["z-1"]


def test_speakers_rename_and_merge(alice: Client, meeting: str) -> None:
    assert alice.patch(f"/api/v1/sessions/{meeting}/speakers/SPEAKER_02", json={"display_name": "Dana"}).status_code == 200
    segments = alice.get(f"/api/v1/sessions/{meeting}/transcript").json()["segments"]
    assert segments[2]["speaker_name"] == "Dana"
    assert alice.patch(f"/api/v1/sessions/{meeting}/speakers/nobody", json={"display_name": "X"}).status_code == 404
    merged = alice.post(f"/api/v1/sessions/{meeting}/speakers/merge", json={"source": "SPEAKER_02", "target": "user-bob"})
    assert merged.json()["moved_segments"] == 1
    transcript = alice.get(f"/api/v1/sessions/{meeting}/transcript").json()
    assert [s["speaker"] for s in transcript["segments"]] == ["user-alice", "user-bob", "user-bob"]
    assert "SPEAKER_02" not in {s["label"] for s in transcript["speakers"]}
    # Undo: the merge's answer gives the segments back to their speaker, with the name it had.
    undo = merged.json()["undo"]
    assert undo["label"] == "SPEAKER_02" and undo["display_name"] == "Dana" and len(undo["segments"]) == 1
    assert alice.post(f"/api/v1/sessions/{meeting}/speakers/split", json=undo).json() == {"moved_segments": 1}
    transcript = alice.get(f"/api/v1/sessions/{meeting}/transcript").json()
    assert [s["speaker_name"] for s in transcript["segments"]][2] == "Dana"
    assert [s["speaker"] for s in transcript["segments"]] == ["user-alice", "user-bob", "SPEAKER_02"]
    nothing = {**undo, "segments": [{"segment_id": "no-such-segment", "version": 1}]}
    assert alice.post(f"/api/v1/sessions/{meeting}/speakers/split", json=nothing).status_code == 404


def test_exports(alice: Client, meeting: str) -> None:
    srt = alice.get(f"/api/v1/sessions/{meeting}/export", params={"format": "srt"}).text
    assert re.match(r"1\n00:00:00,000 --> 00:00:04,000\nuser-alice: The quarterly", srt)
    vtt = alice.get(f"/api/v1/sessions/{meeting}/export", params={"format": "vtt"}).text
    assert vtt.startswith("WEBVTT") and "00:00:04.200 --> 00:00:06.000" in vtt
    data = alice.get(f"/api/v1/sessions/{meeting}/export", params={"format": "json"}).json()
    assert next((s["speaker"], s["start_ms"], s["end_ms"]) for s in data["segments"]) == ("user-alice", 0, 4000)
    md = alice.get(f"/api/v1/sessions/{meeting}/export", params={"format": "md"}).text
    assert md.startswith("# Planning sync") and "**[00:04] user-bob:** Great" in md
    response = alice.get(f"/api/v1/sessions/{meeting}/export", params={"format": "docx"})
    assert "attachment" in response.headers["content-disposition"]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs)
    assert "Planning sync" in text and "The quarterly budget review is on Thursday." in text
    assert alice.get(f"/api/v1/sessions/{meeting}/export", params={"format": "pdf"}).status_code == 422


async def test_realtime_reads_and_events(api: str, services: ServiceFactory, alice: Client, meeting: str) -> None:
    snapshot = alice.get(f"/api/v1/realtime/sessions/{meeting}/transcription").json()
    assert [s["segment_id"] for s in snapshot["segments"]] == ["trk-1", "trk-2", "trk-3"]
    status = alice.get(f"/api/v1/realtime/sessions/{meeting}/status").json()
    assert status["status"] == "live" and status["live_events"] == 3
    received: list[dict] = []
    headers = {"Authorization": alice.http.headers["Authorization"], "Last-Event-ID": snapshot["last_event_id"]}
    new = [{"segment_id": "trk-4", "speaker": "user-alice", "start_ms": 8000, "end_ms": 9000, "text": "One more thing."}]
    async with (
        httpx.AsyncClient(base_url=api, timeout=30) as client,
        client.stream("GET", f"/api/v1/realtime/sessions/{meeting}/events", headers=headers) as stream,
    ):
        await asyncio.to_thread(add_segments, api, services, meeting, new)
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                received.append(json.loads(line[6:]))
                break
    assert received[0]["segment_id"] == "trk-4"


def test_another_users_ids_answer_404(api: str, alice: Client, bob: Client, meeting: str) -> None:
    paths = [
        ("get", f"/api/v1/sessions/{meeting}", None),
        ("patch", f"/api/v1/sessions/{meeting}", {"title": "mine now"}),
        ("delete", f"/api/v1/sessions/{meeting}", None),
        ("get", f"/api/v1/sessions/{meeting}/transcript", None),
        ("patch", f"/api/v1/sessions/{meeting}/speakers/user-alice", {"display_name": "x"}),
        ("post", f"/api/v1/sessions/{meeting}/speakers/merge", {"source": "user-alice", "target": "user-bob"}),
        (
            "post",
            f"/api/v1/sessions/{meeting}/speakers/split",
            {"label": "bob-now", "segments": [{"segment_id": "seg-1", "version": 1}]},
        ),
        ("post", f"/api/v1/sessions/{meeting}/end", None),
        ("get", f"/api/v1/sessions/{meeting}/export?format=json", None),
        ("get", f"/api/v1/realtime/sessions/{meeting}/transcription", None),
        ("get", f"/api/v1/realtime/sessions/{meeting}/status", None),
        ("get", f"/api/v1/realtime/sessions/{meeting}/events", None),
        ("post", "/api/v1/livekit/connection-details", {"session_id": meeting}),
        ("post", "/api/v1/livekit/connection-details", {"session_id": meeting, "invite_code": "guess"}),
    ]
    for method, path, body in paths:
        response = getattr(bob, method)(path, **({"json": body} if body is not None else {}))
        assert response.status_code == 404, (method, path, response.status_code)
    assert meeting not in [s["id"] for s in bob.get("/api/v1/sessions/").json()["items"]]
    assert bob.get("/api/v1/sessions/", params={"q": "slides"}).json()["total"] == 0
    assert alice.get(f"/api/v1/sessions/{meeting}").json()["title"] == "Planning sync"  # nothing changed


def test_bad_input_and_health(api: str, alice: Client) -> None:
    assert alice.post("/api/v1/sessions/", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 422
    assert alice.post("/api/v1/sessions/", json={"title": "x" * 500}).status_code == 422
    assert alice.post("/api/v1/sessions/", json={"template_id": str(uuid.uuid4())}).status_code == 404
    assert httpx.get(f"{api}/health/ready").json()["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}


@pytest.fixture(scope="module")
def strict_api(services: ServiceFactory, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('strict')}/db.sqlite"
    # Its own Redis database, so other tests' log-ins do not count against it.
    yield services.start(
        "api_service",
        "API_PORT",
        {"DATABASE_URL": database, "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/5", "AUTH_RATE_LIMIT_PER_MINUTE": "3"},
        name="api-strict",
    )


def test_login_is_rate_limited(strict_api: str) -> None:
    codes = [
        httpx.post(f"{strict_api}/api/v1/auth/login", json={"email": "x@example.com", "password": "whatever123"}).status_code
        for _ in range(5)
    ]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]


def test_asymmetric_tokens_are_checked_against_the_jwks(services: ServiceFactory, redis_url: str, tmp_path: Path) -> None:
    """Supabase's asymmetric keys: RS256 tokens verified against a JWKS endpoint."""
    import http.server
    import threading

    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key, impostor = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "k1", "use": "sig", "alg": "RS256"}
    body = json.dumps({"keys": [jwk]}).encode()

    class JWKS(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), JWKS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = services.start(
            "api_service",
            "API_PORT",
            {
                "REDIS_URL": redis_url,
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/db.sqlite",
                "AUTH_JWKS_URL": f"http://127.0.0.1:{server.server_address[1]}/auth/v1/.well-known/jwks.json",
            },
            name="api-jwks",
        )
        claims = {"sub": str(uuid.uuid4()), "aud": "authenticated", "exp": int(time.time()) + 60, "email": "sb@example.com"}
        good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        forged = jwt.encode(claims, impostor, algorithm="RS256", headers={"kid": "k1"})
        assert httpx.get(f"{api}/api/v1/auth/me", headers={"Authorization": f"Bearer {good}"}).json()["email"] == "sb@example.com"
        assert httpx.get(f"{api}/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    finally:
        server.shutdown()


def test_segments_are_stored_redacted_and_turning_it_on_redacts_what_is_stored(
    api: str, services: ServiceFactory, alice: Client
) -> None:
    """The sessions.redaction and users.redaction columns of migration 0008, on SQLite and
    PostgreSQL: segments sent to a session with redaction on are stored redacted (text and words,
    a placeholder word keeping the span's timing); a session's policy turned on later redacts
    what it has stored; search and exports never see the original."""
    assert alice.put("/api/v1/me/redaction", json={"enabled": True, "terms": ["Falcon"]}).status_code == 200
    on = alice.post("/api/v1/sessions/", json={"title": "Redacted"}).json()
    assert on["redaction"] == {"enabled": True, "kinds": ["email", "phone", "card", "account"], "terms": ["Falcon"]}
    off = alice.post("/api/v1/sessions/", json={"title": "Not yet", "redaction": {"enabled": False}}).json()["id"]
    said = "Falcon: call me at 415 555 0132 or mail jo.smith@example.com"
    words = [{"start_ms": 100 * n, "end_ms": 100 * n + 90, "text": " " + w} for n, w in enumerate(said.split())]
    for sid in (on["id"], off):
        segment = {"segment_id": "r1", "speaker": "user-a", "start_ms": 0, "end_ms": 2000, "text": said, "words": words}
        assert add_segments(api, services, sid, [segment]).json() == {"stored": 1, "duplicates": 0}

    redacted = alice.get(f"/api/v1/sessions/{on['id']}/transcript").json()["segments"][0]
    assert redacted["text"] == "[redacted]: call me at [phone] or mail [email]"
    assert [w["text"] for w in redacted["words"]] == [
        " [redacted]:",
        " call",
        " me",
        " at",
        " [phone]",
        " or",
        " mail",
        " [email]",
    ]
    assert (redacted["words"][4]["start_ms"], redacted["words"][4]["end_ms"]) == (400, 690)  # "415" … "0132"
    assert alice.get(f"/api/v1/sessions/{off}/transcript").json()["segments"][0]["text"] == said
    assert [s["id"] for s in alice.get("/api/v1/sessions/", params={"q": "Falcon"}).json()["items"]] == [off]

    patched = alice.patch(f"/api/v1/sessions/{off}", json={"redaction": {"enabled": True, "kinds": ["email"]}})
    assert patched.status_code == 200 and patched.json()["redaction"]["kinds"] == ["email"]
    text = alice.get(f"/api/v1/sessions/{off}/transcript").json()["segments"][0]["text"]
    assert text == "Falcon: call me at 415 555 0132 or mail [email]"
    assert alice.get("/api/v1/sessions/", params={"q": "smith"}).json()["total"] == 0
    export = alice.get(f"/api/v1/sessions/{off}/export", params={"format": "json"}).text
    assert "jo.smith" not in export and "[email]" in export
    assert alice.put("/api/v1/me/redaction", json={"enabled": False}).json()["enabled"] is False
