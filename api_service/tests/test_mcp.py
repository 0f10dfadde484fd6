"""The MCP server at /mcp, driven by the ``mcp`` package's own client (streamable HTTP) against the
API served by uvicorn on a loopback port (``create_app`` on SQLite; Redis unreachable, so quotas do
without it): the tools are listed, answer with the signed-in user's data and only theirs, and the
endpoint refuses a request without a valid bearer token, as the REST API does."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from fastapi import FastAPI
from mcp import ClientSession, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult, TextContent

from api_service import llm as llm_module
from api_service.app import create_app
from api_service.assistant import NO_MODEL
from api_service.llm import LLMConfig, ModelConfig
from api_service.settings import APISettings
from api_service.transcripts import add_segments
from shared.contracts.internal import SegmentIn

pytestmark = [pytest.mark.unit]

SECRET = "in-process-tests-secret-0123456789abcdef"  # noqa: S105 - a test secret
MEETING = [
    ("s1", "alice", 5_000, "Welcome everyone, today we review the vendor contract and the hiring plan."),
    ("s2", "bob", 12_000, "The vendor contract renewal costs forty thousand euros a year."),
    ("s3", "alice", 20_000, "We agreed to renew the vendor contract for two years."),
    ("s4", "carol", 40_000, "The hiring plan needs two backend engineers and one designer."),
]
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[FastAPI, str]]:
    """The app and its base URL, served by uvicorn (lifespan included) on a free loopback port."""
    folder: Path = tmp_path_factory.mktemp("mcp")
    settings = APISettings(
        database_url=f"sqlite+aiosqlite:///{folder}/api.db",
        redis_url="redis://127.0.0.1:9/0",  # nothing listens there
        livekit_url="ws://127.0.0.1:9",
        auth_jwt_secret=SECRET,
        audio_storage_dir=str(folder / "audio"),
        intrascribe_env="development",
    )
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield app, f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture
async def api(served: tuple[FastAPI, str]) -> AsyncIterator[httpx.AsyncClient]:
    app, base = served
    app.state.llm = None
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield client
    app.state.llm = None


async def signup(api: httpx.AsyncClient) -> dict[str, str]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    response = await api.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse battery"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def meeting(
    app: FastAPI, api: httpx.AsyncClient, auth: dict[str, str], lines: list[tuple[str, str, int, str]], title: str
) -> str:
    session_id = (await api.post("/api/v1/sessions/", json={"title": title}, headers=auth)).json()["id"]
    segments = [SegmentIn(segment_id=i, speaker=s, start_ms=t, end_ms=t + 4000, text=x) for i, s, t, x in lines]
    async with app.state.sessionmaker() as db:
        await add_segments(db, session_id, segments)
        await db.commit()
    return session_id


@contextlib.asynccontextmanager
async def mcp_session(base: str, headers: dict[str, str]) -> AsyncIterator[ClientSession]:
    """An initialized MCP client session (the SDK's client) sending ``headers`` with each request."""
    async with (
        create_mcp_http_client(headers=headers) as http,
        streamable_http_client(f"{base}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def innermost(error: BaseException) -> BaseException:
    """The one error inside the task groups the client's context managers wrap it in."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def text_of(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured answer (asserting that it did not fail)."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


async def test_the_four_tools_are_listed_with_their_arguments(served: tuple[FastAPI, str], api: httpx.AsyncClient) -> None:
    _app, base = served
    async with mcp_session(base, await signup(api)) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == {"search_meetings", "get_transcript", "get_summary", "ask"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert set(tools["ask"].input_schema["properties"]) == {"question", "session_id"}
    assert tools["search_meetings"].input_schema["properties"]["limit"]["maximum"] == 50
    assert tools["get_transcript"].input_schema["required"] == ["session_id"]
    assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools.values())


async def test_each_tool_answers_with_the_users_meetings(served: tuple[FastAPI, str], api: httpx.AsyncClient) -> None:
    app, base = served
    alice = await signup(api)
    planning = await meeting(app, api, alice, MEETING, "Vendor planning")
    other = await meeting(app, api, alice, [("o1", "dave", 0, "The office move is planned for June.")], "Office")
    made = await api.post(f"/api/v1/sessions/{planning}/summaries", json={}, headers=alice)
    assert made.status_code == 201, made.text
    async with mcp_session(base, alice) as session:
        found = await call(session, "search_meetings", query="vendor contract")
        assert found["total"] == 1 and [m["session_id"] for m in found["meetings"]] == [planning]
        matches = found["meetings"][0]["matches"]
        assert matches and all("vendor contract" in m["text"] for m in matches)
        assert {m["segment_id"] for m in matches} <= {"s1", "s2", "s3"} and matches[0]["at"] == "00:05"
        recent = await call(session, "search_meetings", query="", limit=1)
        assert recent["total"] == 2 and [m["session_id"] for m in recent["meetings"]] == [other]

        transcript = await call(session, "get_transcript", session_id=planning)
        assert transcript["title"] == "Vendor planning" and transcript["version"] == 1
        assert transcript["lines"][1] == "[00:12] (s2) bob: The vendor contract renewal costs forty thousand euros a year."
        assert len(transcript["lines"]) == len(MEETING)
        assert {s["label"] for s in transcript["speakers"]} == {"alice", "bob", "carol"}

        summary = await call(session, "get_summary", session_id=planning)
        assert summary["markdown"] == made.json()["markdown"] and summary["version"] == 1
        assert summary["model"] == made.json()["model"] and summary["summary_id"] == made.json()["id"]
        none_yet = await call(session, "get_summary", session_id=other)
        assert none_yet["markdown"] is None and "No summary has been made" in none_yet["note"]

        across = await call(session, "ask", question="How much does the renewal cost?")
        assert across["model"] is None and across["answer"].startswith(NO_MODEL)
        assert across["citations"][0]["segment_id"] == "s2" and across["citations"][0]["session_id"] == planning
        rest = await api.post("/api/v1/ask", json={"question": "How much does the renewal cost?"}, headers=alice)
        assert across == rest.json()
        one = await call(session, "ask", question="When is the move?", session_id=other)
        assert [c["segment_id"] for c in one["citations"]] == ["o1"]
        rest = await api.post(f"/api/v1/sessions/{other}/ask", json={"question": "When is the move?"}, headers=alice)
        assert one == rest.json()  # the same answer as the REST route's


async def test_ask_uses_the_configured_model_with_citations(
    served: tuple[FastAPI, str], api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, base = served
    alice = await signup(api)
    planning = await meeting(app, api, alice, MEETING, "Vendor planning")
    prompts: list[str] = []

    async def model(**options: Any) -> Any:
        prompts.append(options["messages"][-1]["content"])
        text = "It costs forty thousand euros a year [2], renewed for two years [3] and [99]."
        usage = SimpleNamespace(prompt_tokens=10, completion_tokens=5)
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=text))], usage=usage)

    monkeypatch.setattr(llm_module.litellm, "acompletion", model)
    app.state.llm = LLMConfig(models=[ModelConfig(model="openai/fake", max_retries=0, timeout_s=5)])
    async with mcp_session(base, alice) as session:
        answer = await call(session, "ask", question="What does the renewal cost?", session_id=planning)
    assert len(prompts) == 1 and "forty thousand euros" in prompts[0]
    assert answer["model"] == "openai/fake"
    # Lines the model was shown are cited, renumbered; an invented [99] is dropped.
    assert answer["answer"].startswith("It costs forty thousand euros a year [1], renewed for two years [2]")
    assert "[99]" not in answer["answer"]
    assert [c["segment_id"] for c in answer["citations"]] == ["s2", "s3"]


async def test_another_users_meetings_are_not_found(served: tuple[FastAPI, str], api: httpx.AsyncClient) -> None:
    app, base = served
    alice, bob = await signup(api), await signup(api)
    hers = await meeting(app, api, alice, MEETING, "Alice's vendor planning")
    assert (await api.get(f"/api/v1/sessions/{hers}/transcript", headers=bob)).status_code == 404
    async with mcp_session(base, bob) as session:
        for tool, arguments in (
            ("get_transcript", {"session_id": hers}),
            ("get_summary", {"session_id": hers}),
            ("ask", {"question": "What does the renewal cost?", "session_id": hers}),
            ("get_transcript", {"session_id": str(uuid.uuid4())}),  # a missing one reads the same
        ):
            result = await session.call_tool(tool, arguments)
            # The REST routes' 404 sentence, after the SDK's "Error executing tool <name>: ".
            assert result.is_error and text_of(result).endswith(": session not found"), (tool, text_of(result))
        assert (await call(session, "search_meetings", query="vendor contract"))["total"] == 0
        across = await call(session, "ask", question="What does the vendor contract renewal cost?")
        assert across["citations"] == [] and "No passage of your meetings matches" in across["answer"]
    async with mcp_session(base, alice) as session:  # while hers are still hers
        assert (await call(session, "search_meetings", query="vendor contract"))["total"] == 1


async def test_arguments_are_checked_with_sentences(served: tuple[FastAPI, str], api: httpx.AsyncClient) -> None:
    _app, base = served
    async with mcp_session(base, await signup(api)) as session:
        empty = await session.call_tool("ask", {"question": " \n\t"})
        assert empty.is_error and "The question is empty" in text_of(empty)
        too_many = await session.call_tool("search_meetings", {"query": "x", "limit": 500})
        assert too_many.is_error and "limit" in text_of(too_many)


async def test_without_a_valid_token_the_endpoint_answers_401(served: tuple[FastAPI, str], api: httpx.AsyncClient) -> None:
    _app, base = served
    alice = await signup(api)
    now = int(time.time())
    expired = jwt.encode(
        {"sub": "someone", "aud": "authenticated", "iat": now - 7200, "exp": now - 3600}, SECRET, algorithm="HS256"
    )
    forged = alice["Authorization"][:-4] + ("AAAA" if not alice["Authorization"].endswith("AAAA") else "BBBB")
    for headers, says in (
        ({}, "missing bearer token"),
        ({"Authorization": forged}, "invalid token"),
        ({"Authorization": f"Bearer {expired}"}, "token expired"),
        ({"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="}, "missing bearer token"),
    ):
        refused = await api.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **headers})
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer", refused.text
        body = refused.json()
        assert says in body["detail"] and body["error"]["message"] == f"Unauthorized: {body['detail']}"
        # The SDK's client fails at once, with the reason.
        with pytest.raises(BaseException) as caught:
            async with mcp_session(base, headers):
                pass
        error = innermost(caught.value)
        assert isinstance(error, MCPError) and error.error.message.startswith(f"Unauthorized: {says}"), repr(error)
    accepted = await api.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **alice})
    assert accepted.status_code == 200 and accepted.json()["result"]["serverInfo"]["name"] == "intrascribe"


async def test_only_posts_are_served_and_the_web_app_keeps_off(served: tuple[FastAPI, str], api: httpx.AsyncClient) -> None:
    """Stateless: no stream for a GET, no session for a DELETE (405, as the protocol has it); the
    web app's catch-all never answers under /mcp, and /mcp/ leads to /mcp."""
    alice = await signup(api)
    for method in ("GET", "DELETE"):
        refused = await api.request(method, "/mcp", headers={**MCP_HEADERS, **alice})
        assert refused.status_code == 405 and refused.headers["allow"] == "POST" and "stateless" in refused.json()["detail"]
    assert (await api.get("/mcp", headers=MCP_HEADERS)).status_code == 401  # the token first, as everywhere
    slash = await api.post("/mcp/", json=INITIALIZE, headers={**MCP_HEADERS, **alice})
    assert slash.status_code == 307 and slash.headers["location"].endswith("/mcp")
    assert (await api.get("/mcp/anything", headers=alice)).status_code == 404
