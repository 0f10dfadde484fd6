"""Templates and summaries through a real API process; the LLM is a local OpenAI-compatible
server that answers, fails, rate-limits and times out like a provider."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
import yaml

from devstack.pytest_plugin import ServiceFactory
from tests.llm_server import FakeLLM

pytestmark = [pytest.mark.service]

SEGMENTS = [
    {
        "segment_id": "trk-1",
        "speaker": "user-alice",
        "start_ms": 65_000,
        "end_ms": 69_000,
        "text": "The quarterly budget review is on Thursday.",
    },
    {
        "segment_id": "trk-2",
        "speaker": "user-bob",
        "start_ms": 70_000,
        "end_ms": 73_000,
        "text": "I will send the report by Friday.",
    },
]


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def start_api(services: ServiceFactory, redis_url: str, workdir: Path, llm_config: dict | None) -> str:
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/db.sqlite",
        "AUTH_RATE_LIMIT_PER_MINUTE": "1000",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",  # a loopback webhook records deliveries, sends nothing
    }
    if llm_config:
        (workdir / "llm.yaml").write_text(yaml.safe_dump(llm_config))
        env["LLM_CONFIG_FILE"] = str(workdir / "llm.yaml")
    return services.start("api_service", "API_PORT", env, name=f"api-{workdir.name}")


@pytest.fixture(scope="module")
def api(services: ServiceFactory, redis_url: str, llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> str:
    config = {
        "token_budget": 600,
        "models": [
            {"model": "openai/slow", "api_base": llm.url, "api_key_env": "PATH", "timeout_s": 1, "max_retries": 0},
            {"model": "openai/rate-limited", "api_base": llm.url, "api_key_env": "PATH", "max_retries": 1},
            {"model": "openai/good", "api_base": llm.url, "api_key_env": "PATH", "max_retries": 0},
        ],
    }
    return start_api(services, redis_url, tmp_path_factory.mktemp("llm-api"), config)


def user(api: str) -> httpx.Client:
    token = httpx.post(
        f"{api}/api/v1/auth/signup", json={"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "password1234"}
    )
    return httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=60)


def session_with(api: str, client: httpx.Client, services: ServiceFactory, segments: list[dict], **body: str) -> str:
    sid = client.post("/api/v1/sessions/", json={"title": "Budget", "language": "en", **body}).json()["id"]
    response = httpx.post(
        f"{api}/internal/v1/sessions/{sid}/segments", json={"segments": segments}, headers=services.headers("agent")
    )
    assert response.status_code == 200
    return sid


def test_system_and_own_templates(api: str) -> None:
    alice, bob = user(api), user(api)
    system = alice.get("/api/v1/templates/").json()
    assert len(system) == 16 and all(t["is_system"] for t in system)
    assert {t["language"] for t in system} == {"en", "zh"}
    assert len(alice.get("/api/v1/templates/", params={"language": "zh"}).json()) == 8
    mine = alice.post(
        "/api/v1/templates/",
        json={"name": "Retro", "sections": [{"title": "Went well", "instruction": "List", "format": "bullets"}]},
    )
    assert mine.status_code == 201
    tid = mine.json()["id"]
    assert alice.patch(f"/api/v1/templates/{tid}", json={"name": "Sprint retro"}).json()["name"] == "Sprint retro"
    assert alice.patch(f"/api/v1/templates/{system[0]['id']}", json={"name": "x"}).status_code == 403
    assert alice.delete(f"/api/v1/templates/{system[0]['id']}").status_code == 403
    for method in ("get", "patch", "delete"):
        response = getattr(bob, method)(f"/api/v1/templates/{tid}", **({"json": {"name": "y"}} if method == "patch" else {}))
        assert response.status_code == 404
    assert tid not in [t["id"] for t in bob.get("/api/v1/templates/").json()]
    assert (
        alice.post("/api/v1/templates/", json={"name": "bad", "sections": [{"title": "x", "format": "poem"}]}).status_code == 422
    )
    assert alice.delete(f"/api/v1/templates/{tid}").status_code == 204


def test_session_summary_falls_back_through_the_model_list(api: str, llm: FakeLLM, services: ServiceFactory) -> None:
    client = user(api)
    template = next(t for t in client.get("/api/v1/templates/").json() if t["name"] == "General meeting minutes")
    sid = session_with(api, client, services, SEGMENTS, template_id=template["id"])
    before = len(llm.requests)
    response = client.post(f"/api/v1/sessions/{sid}/summaries", json={})
    assert response.status_code == 201, response.text
    summary = response.json()
    assert summary["model"] == "openai/good" and summary["version"] == 1 and summary["template_id"] == template["id"]
    tried = [r["model"] for r in llm.requests[before:]]
    assert tried[0] == "slow" and tried.count("rate-limited") == 2 and tried[-1] == "good"  # timeout, 429 + retry, then fallback
    prompt = llm.requests[-1]["messages"][1]["content"]
    assert "[01:05] (trk-1) user-alice: The quarterly budget review is on Thursday." in prompt
    assert [s["title"] for s in summary["content"]["sections"]] == ["Summary", "Discussion", "Decisions", "Action items"]
    action = summary["content"]["action_items"][0]
    assert action == {"owner": "user-alice", "due": "Friday", "text": "Send the report", "segment_ids": ["trk-1"]}
    assert summary["prompt_tokens"] > 0 and "### Action items" in summary["markdown"]
    assert "<h3>Action items</h3>" in summary["html"] and "###" not in summary["html"]
    assert client.post(f"/api/v1/sessions/{sid}/summaries", json={}).json()["version"] == 2
    assert [s["version"] for s in client.get(f"/api/v1/sessions/{sid}/summaries").json()] == [2, 1]
    md = client.get(f"/api/v1/sessions/{sid}/export", params={"format": "md"}).text
    assert "## Summary" in md and "Send the report" in md


def test_an_edited_summary_is_stored_as_a_new_version(api: str, services: ServiceFactory) -> None:
    client = user(api)
    hook = client.post("/api/v1/webhooks/", json={"url": "http://127.0.0.1:9/hook", "events": ["summary.ready"]})
    assert hook.status_code == 201, hook.text
    sid = session_with(api, client, services, SEGMENTS)
    generated = client.post(f"/api/v1/sessions/{sid}/summaries", json={}).json()
    url = f"/api/v1/sessions/{sid}/summaries/{generated['id']}"
    text = "# Budget\n\nBob sends the report by Friday. 已确认。"
    response = client.patch(url, json={"markdown": text})
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["id"] != generated["id"] and edited["version"] == 2 and edited["markdown"] == text
    assert edited["model"] == "edited-by-user" and edited["template_id"] == generated["template_id"]
    assert edited["prompt_tokens"] == edited["completion_tokens"] == 0 and edited["cost_usd"] == 0
    assert edited["content"]["summary"] == text and edited["content"]["action_items"] == []
    assert edited["content"]["edited_from"] == {"summary_id": generated["id"], "version": 1, "model": "openai/good"}
    stored = [(s["id"], s["version"], s["markdown"]) for s in client.get(f"/api/v1/sessions/{sid}/summaries").json()]
    assert stored == [(edited["id"], 2, text), (generated["id"], 1, generated["markdown"])]  # the generated one is kept
    exported = client.get(f"/api/v1/sessions/{sid}/export", params={"format": "md"}).text
    assert "Bob sends the report by Friday. 已确认。" in exported  # exports use the latest version
    # Saving the same text again stores nothing; an edit of an older version becomes the next one.
    same = client.patch(f"/api/v1/sessions/{sid}/summaries/{edited['id']}", json={"markdown": text})
    assert same.status_code == 200 and same.json()["id"] == edited["id"]
    again = client.patch(url, json={"markdown": "Second edit of v1."}).json()
    assert again["version"] == 3 and again["content"]["edited_from"]["version"] == 1

    # Refused, and nothing stored: empty or oversized text, ids that are not the caller's, no or a forged token.
    for bad in ({"markdown": ""}, {"markdown": " \n\t"}, {"markdown": "x" * 100_001}, {}, {"markdown": None}):
        assert client.patch(url, json=bad).status_code == 422, bad
    other = user(api)
    assert other.patch(url, json={"markdown": "mine"}).status_code == 404
    theirs = other.post("/api/v1/sessions/", json={"title": "Theirs"}).json()["id"]
    assert other.patch(f"/api/v1/sessions/{theirs}/summaries/{generated['id']}", json={"markdown": "mine"}).status_code == 404
    another = client.post("/api/v1/sessions/", json={"title": "Another"}).json()["id"]
    assert client.patch(f"/api/v1/sessions/{another}/summaries/{generated['id']}", json={"markdown": "x"}).status_code == 404
    assert client.patch(f"/api/v1/sessions/{sid}/summaries/{uuid.uuid4()}", json={"markdown": "x"}).status_code == 404
    assert httpx.patch(f"{api}{url}", json={"markdown": "x"}).status_code == 401
    claims = jwt.decode(client.headers["Authorization"].split()[1], options={"verify_signature": False})
    forged = jwt.encode(claims, "not the secret, though just as long as one", algorithm="HS256")
    assert httpx.patch(f"{api}{url}", json={"markdown": "x"}, headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert [s["version"] for s in client.get(f"/api/v1/sessions/{sid}/summaries").json()] == [3, 2, 1]

    # Only the generated summary announced itself: an edit is not a new summary.ready.
    deliveries = client.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries").json()
    assert [(d["event"], d["payload"]["summary_id"]) for d in deliveries] == [("summary.ready", generated["id"])]


def test_long_transcripts_are_summarised_map_reduce(api: str, llm: FakeLLM, services: ServiceFactory) -> None:
    client = user(api)
    long = [
        {
            "segment_id": f"seg-{n}",
            "speaker": "user-alice",
            "start_ms": n * 5000,
            "end_ms": n * 5000 + 4000,
            "text": f"Item {n}: we reviewed the vendor proposal and its costs in detail.",
        }
        for n in range(120)
    ]
    sid = session_with(api, client, services, long)
    before = len(llm.requests)
    assert client.post(f"/api/v1/sessions/{sid}/summaries", json={}).status_code == 201
    good = [r for r in llm.requests[before:] if r["model"] == "good"]
    assert len(good) >= 3  # at least two parts and the combining call
    assert "Combine these partial minutes" in good[-1]["messages"][1]["content"]
    assert "Part 1 of" in good[0]["messages"][1]["content"]


def test_invalid_json_is_retried_once_then_refused(api: str, services: ServiceFactory) -> None:
    client = user(api)
    once = session_with(api, client, services, [{**SEGMENTS[0], "text": "MALFORMED-ONCE budget"}])
    assert client.post(f"/api/v1/sessions/{once}/summaries", json={}).status_code == 201
    always = session_with(api, client, services, [{**SEGMENTS[0], "text": "MALFORMED-ALWAYS budget"}])
    response = client.post(f"/api/v1/sessions/{always}/summaries", json={})
    assert response.status_code == 502 and "valid summary JSON" in response.json()["detail"]
    assert client.get(f"/api/v1/sessions/{always}/summaries").json() == []  # nothing half-stored


def test_seed_routes(api: str, services: ServiceFactory) -> None:
    client = user(api)
    summary = client.post(
        "/api/v1/summarize", json={"transcription_text": "Alice: budget on Thursday.\nBob: I will send it."}
    ).json()
    assert summary["model"] == "openai/good" and summary["content"]["summary"]
    assert (
        client.post("/api/v1/generate-title", json={"transcription_text": "We talked about the budget."}).json()["title"]
        == "Quarterly budget review"
    )
    sid = session_with(api, client, services, SEGMENTS)
    proposed = client.post("/api/v1/generate-title", json={"session_id": sid})
    assert proposed.status_code == 200 and proposed.json()["title"] == "Quarterly budget review"
    assert client.get(f"/api/v1/sessions/{sid}").json()["title"] == "Budget"  # proposed, not applied
    assert client.post("/api/v1/generate-title", json={}).status_code == 422
    assert client.post("/api/v1/summarize", json={"transcription_text": ""}).status_code == 422
    other = user(api)
    assert other.post(f"/api/v1/sessions/{sid}/summaries", json={}).status_code == 404
    assert other.get(f"/api/v1/sessions/{sid}/summaries").status_code == 404
    assert other.post("/api/v1/generate-title", json={"session_id": sid}).status_code == 404


def test_every_model_down_answers_503(services: ServiceFactory, redis_url: str, llm: FakeLLM, tmp_path: Path) -> None:
    api = start_api(
        services,
        redis_url,
        tmp_path,
        {"models": [{"model": "openai/down", "api_base": llm.url, "api_key_env": "PATH", "max_retries": 0}]},
    )
    client = user(api)
    response = client.post("/api/v1/summarize", json={"transcription_text": "hello"})
    assert response.status_code == 503 and "every configured model failed" in response.json()["detail"]


def test_without_a_model_the_fallback_says_what_it_is(services: ServiceFactory, redis_url: str, tmp_path: Path) -> None:
    api = start_api(services, redis_url, tmp_path, None)
    client = user(api)
    sid = session_with(api, client, services, SEGMENTS)
    summary = client.post(f"/api/v1/sessions/{sid}/summaries", json={}).json()
    assert summary["model"] == "extractive-fallback"
    assert "not an AI summary" in summary["content"]["note"]
    assert summary["content"]["action_items"][0]["segment_ids"] == ["trk-2"]  # "I will send the report by Friday."
    assert client.post("/api/v1/generate-title", json={"session_id": sid}).json()["model"] == "extractive-fallback"
