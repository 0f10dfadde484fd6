"""Questions about meetings and the catch-up brief through real API processes; the model is a
local OpenAI-compatible server (tests/llm_server.py) that answers, streams, cites invented lines,
rate-limits and times out like a provider. Segments arrive through the agent's internal route,
as they do during a live meeting."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml

from devstack.pytest_plugin import ServiceFactory
from tests.llm_server import FakeLLM
from tests.test_summaries import SEGMENTS as SUMMARY_SEGMENTS

pytestmark = [pytest.mark.service]

NO_MODEL = "No language model is configured: showing the matching passages."
# The summary tests' meeting, and two lines more.
SEGMENTS = [
    *SUMMARY_SEGMENTS,
    {
        "segment_id": "trk-3",
        "speaker": "user-carol",
        "start_ms": 74_000,
        "end_ms": 78_000,
        "text": "We agreed to move the launch to March.",
    },
    {"segment_id": "trk-4", "speaker": "user-alice", "start_ms": 79_000, "end_ms": 81_000, "text": "Who owns the pricing page?"},
]
IDS = {s["segment_id"] for s in SEGMENTS}


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def start_api(services: ServiceFactory, redis_url: str, workdir: Path, **env: str) -> str:
    base = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/db.sqlite",
        "AUTH_RATE_LIMIT_PER_MINUTE": "1000",
    }
    return services.start("api_service", "API_PORT", {**base, **env}, name=f"api-{workdir.name}")


@pytest.fixture(scope="module")
def api(services: ServiceFactory, redis_url: str, llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The simple configuration: LLM_MODEL and the provider's usual key variable, no YAML file."""
    return start_api(
        services,
        redis_url,
        tmp_path_factory.mktemp("ask-api"),
        LLM_MODEL="openai/good",
        LLM_API_BASE=llm.url,
        OPENAI_API_KEY="sk-test-from-the-environment",
    )


@pytest.fixture(scope="module")
def failing_api(services: ServiceFactory, redis_url: str, llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> str:
    workdir = tmp_path_factory.mktemp("ask-failing")
    models = [
        {"model": "openai/slow", "api_base": llm.url, "api_key_env": "PATH", "timeout_s": 1, "max_retries": 0},
        {"model": "openai/rate-limited", "api_base": llm.url, "api_key_env": "PATH", "max_retries": 0},
    ]
    (workdir / "llm.yaml").write_text(yaml.safe_dump({"models": models}))
    return start_api(services, redis_url, workdir, LLM_CONFIG_FILE=str(workdir / "llm.yaml"))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def plain_api(
    request: pytest.FixtureRequest, services: ServiceFactory, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """No model; on both databases (the full-text search is written for each)."""
    workdir = tmp_path_factory.mktemp(f"ask-plain-{request.param}")
    if request.param == "sqlite":
        return start_api(services, redis_url, workdir)
    dsn = request.getfixturevalue("postgres_dsn")
    name = f"ask_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    database = dsn.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + f"/{name}"
    return start_api(services, redis_url, workdir, DATABASE_URL=database)


def user(api: str) -> httpx.Client:
    token = httpx.post(
        f"{api}/api/v1/auth/signup", json={"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "password1234"}
    )
    return httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=60)


def post_segments(api: str, services: ServiceFactory, sid: str, segments: list[dict[str, Any]]) -> None:
    response = httpx.post(
        f"{api}/internal/v1/sessions/{sid}/segments", json={"segments": segments}, headers=services.headers("agent")
    )
    assert response.status_code == 200, response.text


def session_with(api: str, client: httpx.Client, services: ServiceFactory, segments: list[dict], title: str = "Budget") -> str:
    sid = client.post("/api/v1/sessions/", json={"title": title, "language": "en"}).json()["id"]
    post_segments(api, services, sid, segments)
    return sid


def events(client: httpx.Client, path: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The server-sent events of a POST, parsed as they arrive."""
    out = []
    with client.stream("POST", path, json=body, headers={"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                assert kind is not None
                out.append((kind, json.loads(line.removeprefix("data: "))))
    return out


def test_an_answer_cites_real_segments_only(api: str, llm: FakeLLM, services: ServiceFactory) -> None:
    client = user(api)
    sid = session_with(api, client, services, SEGMENTS)
    before = len(llm.requests)
    response = client.post(f"/api/v1/sessions/{sid}/ask", json={"question": "When is the quarterly budget review?"})
    assert response.status_code == 200, response.text
    answer = response.json()
    # The model cited line 1 and an invented line 999: only the real one is kept, as [1].
    assert answer["answer"] == "user-alice said: The quarterly budget review is on Thursday. [1]"
    assert answer["model"] == "openai/good" and answer["note"] is None
    assert [(c["ref"], c["segment_id"], c["start_ms"], c["speaker"]) for c in answer["citations"]] == [
        (1, "trk-1", 65_000, "user-alice")
    ]
    assert answer["citations"][0]["session_id"] == sid and answer["citations"][0]["session_title"] == "Budget"
    sent = llm.requests[before]
    assert (
        sent["model"] == "good"
        and "[1] [01:05] user-alice: The quarterly budget review is on Thursday." in sent["messages"][1]["content"]
    )
    assert "transcript does not say" in sent["messages"][0]["content"]
    assert llm.authorizations[before] == "Bearer sk-test-from-the-environment"  # LLM_MODEL + the provider's own variable
    unknown = client.post(f"/api/v1/sessions/{sid}/ask", json={"question": "NOT-IN-TRANSCRIPT: who is the CFO?"}).json()
    assert unknown["answer"] == "The transcript does not say." and unknown["citations"] == []


def test_an_answer_streams_as_server_sent_events(api: str, services: ServiceFactory) -> None:
    client = user(api)
    sid = session_with(api, client, services, SEGMENTS)
    got = events(client, f"/api/v1/sessions/{sid}/ask", {"question": "Who sends the report by Friday?"})
    deltas = [data["text"] for kind, data in got if kind == "delta"]
    kind, done = got[-1]
    assert kind == "done" and [k for k, _ in got[:-1]] == ["delta"] * len(deltas)
    assert len(deltas) > 5  # pieces as the model wrote them, not one block
    assert "".join(deltas) == done["answer"] == "user-bob said: I will send the report by Friday. [1]"
    assert [c["segment_id"] for c in done["citations"]] == ["trk-2"] and done["model"] == "openai/good"
    # The provider breaks off mid-answer: what was written stays, with a note saying so.
    broken = events(client, f"/api/v1/sessions/{sid}/ask", {"question": "STREAM-BREAK who sends the report?"})
    assert broken[-1][0] == "done" and "stopped before finishing" in broken[-1][1]["note"]
    assert broken[-1][1]["answer"].startswith("user-bob sai")


def test_a_live_meetings_brief_is_cached_until_the_transcript_changes(api: str, llm: FakeLLM, services: ServiceFactory) -> None:
    client = user(api)
    sid = client.post("/api/v1/sessions/", json={"title": "Launch sync", "language": "en"}).json()["id"]
    post_segments(api, services, sid, SEGMENTS[:3])
    assert client.get(f"/api/v1/sessions/{sid}").json()["status"] == "live"
    before = len(llm.requests)
    brief = client.get(f"/api/v1/sessions/{sid}/brief").json()
    assert brief["model"] == "openai/good" and brief["cached"] is False
    assert "still going on" in llm.requests[before]["messages"][1]["content"]
    assert {c["segment_id"] for c in brief["citations"]} <= IDS and brief["citations"]  # line 999 was dropped
    refs = {c["ref"]: c["segment_id"] for c in brief["citations"]}
    assert [d["text"] for d in brief["decisions"]] == ["We agreed to move the launch to March."]
    assert [refs[r] for r in brief["decisions"][0]["refs"]] == ["trk-3"]
    assert all(set(i["refs"]) <= set(refs) for part in ("discussed", "decisions") for i in brief[part])
    again = client.get(f"/api/v1/sessions/{sid}/brief").json()
    assert again["cached"] is True and len(llm.requests) == before + 1
    assert {k: v for k, v in again.items() if k != "cached"} == {k: v for k, v in brief.items() if k != "cached"}
    post_segments(api, services, sid, SEGMENTS[3:])  # the meeting goes on
    newer = client.get(f"/api/v1/sessions/{sid}/brief").json()
    assert newer["cached"] is False and newer["transcript_version"] != brief["transcript_version"]
    assert [q["text"] for q in newer["open_questions"]] == ["Who owns the pricing page?"]
    since = client.get(f"/api/v1/sessions/{sid}/brief", params={"since_ms": 74_000}).json()
    assert {c["segment_id"] for c in since["citations"]} <= {"trk-3", "trk-4"}
    assert "[1] [01:14] user-carol" in llm.requests[-1]["messages"][1]["content"]


def test_a_malformed_brief_falls_back_to_sentences(api: str, services: ServiceFactory) -> None:
    client = user(api)
    sid = session_with(api, client, services, [*SEGMENTS, {**SEGMENTS[0], "segment_id": "trk-9", "text": "MALFORMED-ALWAYS"}])
    brief = client.get(f"/api/v1/sessions/{sid}/brief").json()
    assert brief["model"] is None and "not valid JSON" in brief["note"]
    assert [d["text"] for d in brief["decisions"]] == [
        "I will send the report by Friday.",
        "We agreed to move the launch to March.",
    ]
    assert client.get(f"/api/v1/sessions/{sid}/brief").json()["cached"] is False  # a fallback is not cached


def test_asking_across_meetings_never_reads_another_users(api: str, llm: FakeLLM, services: ServiceFactory) -> None:
    alice, bob = user(api), user(api)
    budget = session_with(api, alice, services, SEGMENTS, title="Budget")
    hiring = session_with(
        api,
        alice,
        services,
        [
            {
                "segment_id": "h-1",
                "speaker": "user-dan",
                "start_ms": 1000,
                "end_ms": 3000,
                "text": "The pricing page launch needs a designer.",
            }
        ],
        title="Hiring",
    )
    bobs_words = "The pricing page launch is cancelled, says Bob's board."
    bobs = session_with(
        api, bob, services, [{"segment_id": "b-1", "speaker": "user-bob", "start_ms": 0, "end_ms": 900, "text": bobs_words}]
    )
    before = len(llm.requests)
    answer = alice.post("/api/v1/ask", json={"question": "What about the pricing page launch?"}).json()
    assert answer["model"] == "openai/good" and answer["citations"]
    assert {c["session_id"] for c in answer["citations"]} <= {budget, hiring}
    assert {c["session_title"] for c in answer["citations"]} <= {"Budget", "Hiring"}
    prompt = llm.requests[before]["messages"][1]["content"]
    assert 'Meeting "Hiring"' in prompt and "The pricing page launch needs a designer." in prompt and bobs_words not in prompt
    only = alice.post("/api/v1/ask", json={"question": "pricing page launch", "session_ids": [budget]}).json()
    assert {c["session_id"] for c in only["citations"]} == {budget}
    assert alice.post("/api/v1/ask", json={"question": "pricing page", "session_ids": [budget, bobs]}).status_code == 404
    assert bob.post(f"/api/v1/sessions/{budget}/ask", json={"question": "pricing"}).status_code == 404
    assert bob.get(f"/api/v1/sessions/{budget}/brief").status_code == 404


def test_failing_models_fall_back_to_passages(failing_api: str, llm: FakeLLM, services: ServiceFactory) -> None:
    client = user(failing_api)
    sid = session_with(failing_api, client, services, SEGMENTS)
    before = len(llm.requests)
    answer = client.post(f"/api/v1/sessions/{sid}/ask", json={"question": "When is the budget review?"}).json()
    assert [r["model"] for r in llm.requests[before:]] == ["slow", "rate-limited"]  # a timeout, then a 429
    assert answer["model"] is None and answer["answer"].startswith(
        "The language model could not answer (timed out, rate-limited)"
    )
    assert "[1] [01:05] user-alice: The quarterly budget review is on Thursday." in answer["answer"]
    assert [c["segment_id"] for c in answer["citations"]] == ["trk-1"]
    streamed = events(client, f"/api/v1/sessions/{sid}/ask", {"question": "When is the budget review?"})
    assert streamed[-1][0] == "done" and streamed[-1][1]["citations"] == answer["citations"]
    across = client.post("/api/v1/ask", json={"question": "budget review"}).json()
    assert across["model"] is None and [c["session_id"] for c in across["citations"]] == [sid]
    brief = client.get(f"/api/v1/sessions/{sid}/brief").json()
    assert brief["model"] is None and "could not write the brief" in brief["note"]
    assert [q["text"] for q in brief["open_questions"]] == ["Who owns the pricing page?"]
    nothing = client.post(f"/api/v1/sessions/{sid}/ask", json={"question": "weather forecast"})
    assert nothing.status_code == 503 and "no passage of the transcript matches" in nothing.json()["detail"]


def test_without_a_model_questions_get_passages_and_the_brief_sentences(plain_api: str, services: ServiceFactory) -> None:
    client = user(plain_api)
    sid = session_with(plain_api, client, services, SEGMENTS)
    answer = client.post(f"/api/v1/sessions/{sid}/ask", json={"question": "Who sends the report?"}).json()
    assert answer["model"] is None and answer["answer"].startswith(NO_MODEL)
    assert [c["segment_id"] for c in answer["citations"]] == ["trk-2"]
    across = client.post("/api/v1/ask", json={"question": "When is the launch?"}).json()
    assert across["answer"].startswith(NO_MODEL) and [c["segment_id"] for c in across["citations"]] == ["trk-3"]
    brief = client.get(f"/api/v1/sessions/{sid}/brief").json()
    assert brief["model"] is None and brief["note"].startswith("No language model is configured")
    assert [d["text"] for d in brief["decisions"]] == [
        "I will send the report by Friday.",
        "We agreed to move the launch to March.",
    ]
    assert [q["text"] for q in brief["open_questions"]] == ["Who owns the pricing page?"]
    too_long = client.post(f"/api/v1/sessions/{sid}/ask", json={"question": "?" * 5000})
    assert too_long.status_code == 422 and "The question is too long" in too_long.text
    # Across meetings: words match as prefixes ("launch" finds "launched"), only one's own
    # transcripts, the latest version of each; a question with nothing to look for finds nothing.
    other = user(plain_api)
    theirs = session_with(
        plain_api,
        other,
        services,
        [{"segment_id": "o-1", "speaker": "user-eve", "start_ms": 0, "end_ms": 900, "text": "Eve launched the pricing page."}],
        title="Eve's",
    )
    mine = other.post("/api/v1/ask", json={"question": "Who launched the pricing page?"}).json()
    assert [(c["session_id"], c["segment_id"], c["session_title"]) for c in mine["citations"]] == [(theirs, "o-1", "Eve's")]
    hers = client.post("/api/v1/ask", json={"question": "launch of the pricing page"}).json()
    assert hers["citations"] and {c["session_id"] for c in hers["citations"]} == {sid}
    assert client.post("/api/v1/ask", json={"question": "launch", "session_ids": [theirs]}).status_code == 404
    empty = client.post("/api/v1/ask", json={"question": "what did we do?"}).json()
    assert empty["citations"] == [] and "No passage of your meetings matches" in empty["answer"]
