"""The MCP endpoint (/mcp) of a real API process, on both databases (search_meetings and ask use
the full-text search written for each): the JSON-RPC messages an MCP client sends over streamable
HTTP, with the user's bearer token. Segments arrive through the agent's internal route, as during
a live meeting. (api_service/tests/test_mcp.py drives the same endpoint with the ``mcp`` SDK's own
client; this environment does not install the SDK.)"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from devstack.pytest_plugin import ServiceFactory

pytestmark = [pytest.mark.service]

PROTOCOL = "2025-06-18"
HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": PROTOCOL}
SEGMENTS = [
    {
        "segment_id": "m-1",
        "speaker": "user-alice",
        "start_ms": 65_000,
        "end_ms": 69_000,
        "text": "The quarterly budget review is on Thursday.",
    },
    {
        "segment_id": "m-2",
        "speaker": "user-bob",
        "start_ms": 70_000,
        "end_ms": 73_000,
        "text": "I will send the budget report by Friday.",
    },
    {
        "segment_id": "m-3",
        "speaker": "user-carol",
        "start_ms": 74_000,
        "end_ms": 78_000,
        "text": "We agreed to move the launch to March.",
    },
]
_ids = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api(
    request: pytest.FixtureRequest, services: ServiceFactory, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    workdir: Path = tmp_path_factory.mktemp(f"mcp-{request.param}")
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/db.sqlite",
        "AUTH_RATE_LIMIT_PER_MINUTE": "1000",
    }
    if request.param == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        name = f"mcp_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = dsn.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + f"/{name}"
    return services.start("api_service", "API_PORT", env, name=f"api-{workdir.name}")


def user(api: str) -> httpx.Client:
    token = httpx.post(
        f"{api}/api/v1/auth/signup", json={"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "password1234"}
    )
    return httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=60)


def rpc(client: httpx.Client, method: str, params: dict[str, Any]) -> httpx.Response:
    return client.post("/mcp", json={"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": params}, headers=HEADERS)


def tool(client: httpx.Client, name: str, **arguments: Any) -> dict[str, Any]:
    """The tools/call result (``isError``, ``content``, ``structuredContent``)."""
    response = rpc(client, "tools/call", {"name": name, "arguments": arguments})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json"), response.text
    return response.json()["result"]


def test_an_assistant_reads_the_users_meetings_through_mcp(api: str, services: ServiceFactory) -> None:
    alice, bob = user(api), user(api)
    sid = alice.post("/api/v1/sessions/", json={"title": "Budget sync", "language": "en"}).json()["id"]
    posted = httpx.post(
        f"{api}/internal/v1/sessions/{sid}/segments", json={"segments": SEGMENTS}, headers=services.headers("agent")
    )
    assert posted.status_code == 200, posted.text

    hello = rpc(
        alice, "initialize", {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    )
    assert hello.status_code == 200 and hello.json()["result"]["serverInfo"]["name"] == "intrascribe", hello.text
    assert "search_meetings" in hello.json()["result"]["instructions"]
    listed = rpc(alice, "tools/list", {}).json()["result"]["tools"]
    assert {t["name"] for t in listed} == {"search_meetings", "get_transcript", "get_summary", "ask"}

    found = tool(alice, "search_meetings", query="budget report")["structuredContent"]
    assert found["total"] == 1 and found["meetings"][0]["session_id"] == sid
    assert found["meetings"][0]["matches"][0]["segment_id"] in {"m-1", "m-2"}
    transcript = tool(alice, "get_transcript", session_id=sid)["structuredContent"]
    assert transcript["lines"] == [
        "[01:05] (m-1) user-alice: The quarterly budget review is on Thursday.",
        "[01:10] (m-2) user-bob: I will send the budget report by Friday.",
        "[01:14] (m-3) user-carol: We agreed to move the launch to March.",
    ]
    assert tool(alice, "get_summary", session_id=sid)["structuredContent"]["markdown"] is None  # none made yet
    made = alice.post(f"/api/v1/sessions/{sid}/summaries", json={})
    assert made.status_code == 201, made.text
    assert tool(alice, "get_summary", session_id=sid)["structuredContent"]["markdown"] == made.json()["markdown"]
    answer = tool(alice, "ask", question="When is the launch?")["structuredContent"]
    assert [(c["session_id"], c["segment_id"]) for c in answer["citations"]][:1] == [(sid, "m-3")]
    assert answer == alice.post("/api/v1/ask", json={"question": "When is the launch?"}).json()

    # Another user: her session is not found (as the REST routes' 404), and nothing of hers is searched.
    for name in ("get_transcript", "get_summary"):
        refused = tool(bob, name, session_id=sid)
        assert refused["isError"] and refused["content"][0]["text"].endswith("session not found"), refused
    assert tool(bob, "ask", question="When is the launch?", session_id=sid)["isError"]
    assert tool(bob, "search_meetings", query="budget report")["structuredContent"]["total"] == 0
    assert bob.get(f"/api/v1/sessions/{sid}/transcript").status_code == 404


def test_without_a_valid_token_mcp_answers_401(api: str) -> None:
    alice = user(api)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    forged = str(alice.headers["Authorization"])[:-3] + "xyz"
    for headers, says in (({}, "missing bearer token"), ({"Authorization": forged}, "invalid token")):
        refused = httpx.post(f"{api}/mcp", json=body, headers={**HEADERS, **headers})
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert says in refused.json()["detail"] and refused.json()["error"]["message"].startswith(f"Unauthorized: {says}")
    assert rpc(alice, "tools/list", {}).status_code == 200
