"""Domain classification, structured extraction and usage statistics through a real API process
(and, for what happens after a meeting, a real batch worker); the LLM is the provider-like local
server of tests/llm_server.py, which answers, fails, rate-limits and times out like a provider."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack.pytest_plugin import ServiceFactory
from tests.llm_server import FakeLLM
from tests.test_mcp import tool

pytestmark = [pytest.mark.service]
ADMIN = "admin-extraction@example.com"


def lines(*said: tuple[str, str], first: int = 1) -> list[dict[str, Any]]:
    return [
        {"segment_id": f"trk-{n}", "speaker": speaker, "start_ms": n * 6000, "end_ms": n * 6000 + 5000, "text": text}
        for n, (speaker, text) in enumerate(said, first)
    ]


def marked(segments: list[dict[str, Any]], marker: str) -> list[dict[str, Any]]:
    """``segments`` and a last line that tells the test LLM how to behave."""
    return [*segments, *lines(("user-eli", marker), first=len(segments) + 1)]


# Test meetings of three domains, written for these tests.
SALES = lines(
    ("user-dana", "Thanks for taking the call; Nordwind Logistics is our customer since March."),
    ("user-eli", "We want forty seats of the Scribe Pro plan and the API add-on."),
    ("user-eli", "Our budget for this is 30,000 euros a year, so the discount matters."),
    ("user-dana", "Next step: I send the contract and pricing on Friday."),
)
MEDICAL = lines(
    ("user-dr", "What brings you in today?"),
    ("user-pat", "I have had knee pain for two weeks, mostly when I climb stairs."),
    ("user-pat", "I take ibuprofen 400 mg twice a day, the medication helps a little."),
    ("user-dr", "We will do an X-ray and a follow-up visit in three weeks."),
)
STANDUP = lines(
    ("user-ana", "Yesterday I merged the pull request for the export fix."),
    ("user-ben", "Today I deploy the worker; no blocker on my side."),
    ("user-cy", "I am blocked on the staging database credentials."),
)
STANDUP_ZH = lines(
    ("user-ana", "昨天我完成了导出功能的修复。"),
    ("user-ben", "今天我部署新版本，没有阻碍。"),
)


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def start(
    services: ServiceFactory, redis_url: str, workdir: Path, models: list[dict[str, Any]] | None, *, worker: bool = False
) -> str:
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/db.sqlite",
        "AUTH_RATE_LIMIT_PER_MINUTE": "1000",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",  # a loopback webhook records deliveries, sends nothing
        "ADMIN_EMAILS": f"someone@example.com, {ADMIN.upper()}",
    }
    if models:
        (workdir / "llm.yaml").write_text(yaml.safe_dump({"token_budget": 2000, "models": models}))
        env["LLM_CONFIG_FILE"] = str(workdir / "llm.yaml")
    api = services.start("api_service", "API_PORT", env, name=f"api-{workdir.name}")
    if worker:
        services.start("api_service", "WORKER_HTTP_PORT", env, name=f"worker-{workdir.name}", main="api_service.worker")
    return api


def good(llm: FakeLLM) -> dict[str, Any]:
    return {"model": "openai/good", "api_base": llm.url, "api_key_env": "PATH", "max_retries": 0}


@pytest.fixture(scope="module")
def api(services: ServiceFactory, redis_url: str, llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> str:
    return start(services, redis_url, tmp_path_factory.mktemp("extract-api"), [good(llm)])


def user(api: str, email: str | None = None) -> httpx.Client:
    email = email or f"{uuid.uuid4().hex[:8]}@example.com"
    token = httpx.post(f"{api}/api/v1/auth/signup", json={"email": email, "password": "password1234"})
    assert token.status_code == 201, token.text
    return httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=60)


def session_with(api: str, client: httpx.Client, services: ServiceFactory, segments: list[dict], **body: Any) -> str:
    sid = client.post("/api/v1/sessions/", json={"title": "Call", "language": "en", **body}).json()["id"]
    response = httpx.post(
        f"{api}/internal/v1/sessions/{sid}/segments", json={"segments": segments}, headers=services.headers("agent")
    )
    assert response.status_code == 200, response.text
    return sid


def template(client: httpx.Client, name: str) -> dict[str, Any]:
    return next(t for t in client.get("/api/v1/templates/").json() if t["name"] == name)


def test_system_templates_carry_domains_and_schemas_and_bad_schemas_are_refused(api: str) -> None:
    client = user(api)
    system = client.get("/api/v1/templates/").json()
    assert len(system) == 16
    labels = {(t["language"], f"{t['domain']}/{t['category']}") for t in system}
    assert len(labels) == 16  # one template per label and language: classification can tell them apart
    with_schema = {t["name"] for t in system if t["extraction_schema"]}
    assert {
        "Sales call",
        "Medical appointment",
        "Support call",
        "Job interview",
        "Daily stand-up",
        "销售电话",
        "每日站会",
    } <= with_schema
    sales = template(client, "Sales call")["extraction_schema"]
    assert {"customer", "products", "budget", "next_step", "next_step_date"} <= set(sales["properties"])
    assert template(client, "门诊问诊")["extraction_schema"]["properties"]["medications_mentioned"]["title"] == "提到的药物"

    schema = {"type": "object", "properties": {"renewal": {"type": ["string", "null"], "title": "Renewal date"}}}
    mine = client.post("/api/v1/templates/", json={"name": "Renewals", "domain": "Customer Success", "extraction_schema": schema})
    assert mine.status_code == 201, mine.text
    assert mine.json()["domain"] == "customer-success" and mine.json()["extraction_schema"] == schema
    tid = mine.json()["id"]
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(8):
        deep = {"type": "object", "properties": {"x": deep}}
    refused = {
        "not valid JSON Schema": {"type": "object", "properties": {"a": {"type": "strin"}}},
        "must describe an object": {"type": "array", "items": {"type": "string"}},
        "regular expressions": {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a+)+$"}}},
        "refers outside itself": {"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}},
        "nested too deeply": deep,
        "too large": {"type": "object", "properties": {f"f{n}": {"type": "string", "description": "x" * 300} for n in range(80)}},
        "draft 2020-12": {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "properties": {"a": {}}},
    }
    for sentence, bad in refused.items():
        response = client.post("/api/v1/templates/", json={"name": "Bad", "extraction_schema": bad})
        assert response.status_code == 422, (sentence, response.text)
        message = response.json()["detail"][0]["msg"]
        assert sentence in message and "/work" not in message, message
        assert client.patch(f"/api/v1/templates/{tid}", json={"extraction_schema": bad}).status_code == 422
    bad_label = client.post("/api/v1/templates/", json={"name": "Bad", "category": "sales/call"})
    assert bad_label.status_code == 422 and "letters, digits, hyphens" in bad_label.json()["detail"][0]["msg"]
    assert client.get(f"/api/v1/templates/{tid}").json()["extraction_schema"] == schema  # the refused PATCHes changed nothing
    assert client.patch(f"/api/v1/templates/{tid}", json={"extraction_schema": {}}).json()["extraction_schema"] is None


def test_extraction_is_validated_retried_and_stored_as_versions(api: str, llm: FakeLLM, services: ServiceFactory) -> None:
    client = user(api)
    sales = template(client, "Sales call")
    hook = client.post("/api/v1/webhooks/", json={"url": "http://127.0.0.1:9/hook", "events": ["summary.ready"]}).json()

    # The first answer is not JSON; the retry shows the model the error, and the second is stored.
    sid = session_with(api, client, services, marked(SALES, "EXTRACT-MALFORMED-ONCE"), template_id=sales["id"])
    before = len(llm.requests)
    response = client.post(f"/api/v1/sessions/{sid}/extraction", json={})
    assert response.status_code == 201, response.text
    sent = llm.requests[before:]
    assert len(sent) == 2 and "not valid against the schema: not JSON" in sent[1]["messages"][-1]["content"]
    assert '"next_step_date"' in sent[0]["messages"][0]["content"]  # the template's schema is in the prompt
    first = response.json()
    data = first["data"]
    assert data["customer"] == "Thanks for taking the call; Nordwind Logistics is our customer since March."
    assert data["budget"] == "Our budget for this is 30,000 euros a year, so the discount matters."
    assert data["products"] == [] and data["next_step"] == "Next step: I send the contract and pricing on Friday."
    assert first["version"] == 1 and first["template_id"] == sales["id"] and first["schema"] == sales["extraction_schema"]
    assert first["model"] == "openai/good" and first["prompt_tokens"] > 0

    # Valid JSON that misses a required field: the validation error goes back, the retry is stored.
    sid2 = session_with(api, client, services, marked(SALES, "EXTRACT-INVALID-ONCE"), template_id=sales["id"])
    before = len(llm.requests)
    assert client.post(f"/api/v1/sessions/{sid2}/extraction", json={}).status_code == 201
    retry = llm.requests[before + 1]["messages"][-1]["content"]
    assert "'customer' is a required property" in retry

    # Invalid twice: 502 with a sentence, and nothing stored.
    sid3 = session_with(api, client, services, marked(SALES, "EXTRACT-INVALID-ALWAYS"), template_id=sales["id"])
    failed = client.post(f"/api/v1/sessions/{sid3}/extraction", json={})
    assert failed.status_code == 502
    assert failed.json()["detail"].startswith("The model's extraction was not valid against the template's schema, twice")
    assert client.get(f"/api/v1/sessions/{sid3}/extraction").status_code == 404
    assert client.get(f"/api/v1/sessions/{sid3}/extractions").json() == []

    # A re-run is a new version; the latest is what GET, the exports and summary.ready carry.
    again = client.post(f"/api/v1/sessions/{sid}/extraction", json={}).json()
    assert again["version"] == 2
    assert [e["version"] for e in client.get(f"/api/v1/sessions/{sid}/extractions").json()] == [2, 1]
    assert client.get(f"/api/v1/sessions/{sid}/extraction").json()["id"] == again["id"]
    exported = client.get(f"/api/v1/sessions/{sid}/export", params={"format": "json"}).json()
    assert exported["extraction"]["version"] == 2 and exported["extraction"]["data"] == again["data"]
    md = client.get(f"/api/v1/sessions/{sid}/export", params={"format": "md"}).text
    assert "## Extracted fields" in md and "- **Budget:** Our budget for this is 30,000 euros" in md and "- **Products:** —" in md
    docx = client.get(f"/api/v1/sessions/{sid}/export", params={"format": "docx"})
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    summary = client.post(f"/api/v1/sessions/{sid}/summaries", json={}).json()
    assert tool(client, "get_summary", session_id=sid)["structuredContent"]["extraction"] == again["data"]  # for assistants (MCP)
    delivery = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()[0]
    assert delivery["payload"]["summary_id"] == summary["id"]
    assert delivery["payload"]["extraction_id"] == again["id"] and delivery["payload"]["extraction"] == again["data"]

    # Refusals: no template, a template without schema, another user's session.
    plain = session_with(api, client, services, SALES)
    assert "has no template" in client.post(f"/api/v1/sessions/{plain}/extraction", json={}).json()["detail"]
    minutes = template(client, "General meeting minutes")
    no_schema = client.post(f"/api/v1/sessions/{plain}/extraction", json={"template_id": minutes["id"]})
    assert no_schema.status_code == 409 and "has no extraction schema" in no_schema.json()["detail"]
    other = user(api)
    for method, path in (("get", "extraction"), ("get", "extractions"), ("post", "extraction"), ("post", "classify")):
        response = (
            other.post(f"/api/v1/sessions/{sid}/{path}", json={})
            if method == "post"
            else other.get(f"/api/v1/sessions/{sid}/{path}")
        )
        assert response.status_code == 404, (path, response.text)


def test_a_long_transcript_is_extracted_per_part_then_merged(api: str, llm: FakeLLM, services: ServiceFactory) -> None:
    client = user(api)
    sales = template(client, "Sales call")
    said = [
        ("user-eli", f"Item {n}: we went through the seats, the discount and the renewal terms once more.") for n in range(200)
    ]
    sid = session_with(api, client, services, [*SALES, *lines(*said, first=len(SALES) + 1)], template_id=sales["id"])
    before = len(llm.requests)
    made = client.post(f"/api/v1/sessions/{sid}/extraction", json={})
    assert made.status_code == 201, made.text
    prompts = [r["messages"][1]["content"] for r in llm.requests[before:]]
    parts = [p for p in prompts if p.startswith("Part ")]
    assert len(parts) >= 2 and f"of {len(parts)} of a meeting transcript" in parts[0]
    assert len(prompts) == len(parts) + 1 and prompts[-1].startswith("Merge these extractions")
    assert set(made.json()["data"]) == set(sales["extraction_schema"]["properties"])  # valid: every field, as required


def test_classification_picks_the_template_of_three_domains(api: str, llm: FakeLLM, services: ServiceFactory) -> None:
    client = user(api)
    chosen = {}
    for name, segments, language in (
        ("sales", SALES, "en"),
        ("medical", MEDICAL, "en"),
        ("standup", STANDUP, "en"),
        ("standup-zh", STANDUP_ZH, "zh"),
    ):
        sid = session_with(api, client, services, segments, language=language)
        before = len(llm.requests)
        response = client.post(f"/api/v1/sessions/{sid}/classify")
        assert response.status_code == 200, response.text
        prompt = llm.requests[before]["messages"][0]["content"]
        # The constrained label set: every domain/category of the templates, and other.
        for label in ("sales/call", "healthcare/appointment", "engineering/standup", "support/call", "hr/interview"):
            assert f"- {label}: " in prompt
        assert "- other: none of the above" in prompt
        found = response.json()
        session = client.get(f"/api/v1/sessions/{sid}").json()
        assert found["applied"] and session["template_id"] == found["template_id"]
        assert session["template_chosen_by"] == "classifier"
        assert session["classification"]["label"] == found["label"] and session["classification"]["confidence"] == 0.9
        chosen[name] = client.get(f"/api/v1/templates/{found['template_id']}").json()["name"]
    assert chosen == {
        "sales": "Sales call",
        "medical": "Medical appointment",
        "standup": "Daily stand-up",
        "standup-zh": "每日站会",  # the label's template in the session's language
    }

    # A label outside the set counts as other: no template, confidence 0, the answer kept.
    odd = session_with(api, client, services, lines(("user-a", "CLASSIFY-OUTSIDE the deposition")))
    outside = client.post(f"/api/v1/sessions/{odd}/classify").json()
    assert outside["label"] == "other" and outside["confidence"] == 0 and outside["answered"] == "legal/deposition"
    assert outside["template_id"] is None and client.get(f"/api/v1/sessions/{odd}").json()["template_id"] is None

    # The user overrides; a later classification is recorded but does not change their choice.
    sid = session_with(api, client, services, SALES)
    client.post(f"/api/v1/sessions/{sid}/classify")
    support = template(client, "Support call")
    patched = client.patch(f"/api/v1/sessions/{sid}", json={"template_id": support["id"]}).json()
    assert patched["template_id"] == support["id"] and patched["template_chosen_by"] == "user"
    again = client.post(f"/api/v1/sessions/{sid}/classify").json()
    assert again["label"] == "sales/call" and not again["applied"]
    assert client.get(f"/api/v1/sessions/{sid}").json()["template_id"] == support["id"]
    empty = client.post("/api/v1/sessions/", json={"title": "Nothing said"}).json()["id"]
    assert client.post(f"/api/v1/sessions/{empty}/classify").status_code == 409


def test_rate_limits_timeouts_and_no_model(services: ServiceFactory, redis_url: str, llm: FakeLLM, tmp_path: Path) -> None:
    """As for summaries: a timed-out and a rate-limited model hand over to the next; when every
    model fails, 503 with Retry-After and nothing stored. Without a model, 409 that says so."""
    models = [
        {"model": "openai/slow", "api_base": llm.url, "api_key_env": "PATH", "timeout_s": 1, "max_retries": 0},
        {"model": "openai/rate-limited", "api_base": llm.url, "api_key_env": "PATH", "max_retries": 1},
    ]
    (tmp_path / "flaky").mkdir()
    flaky = start(services, redis_url, tmp_path / "flaky", [*models, good(llm)])
    client = user(flaky)
    sales = template(client, "Sales call")
    sid = session_with(flaky, client, services, SALES, template_id=sales["id"])
    before = len(llm.requests)
    made = client.post(f"/api/v1/sessions/{sid}/extraction", json={})
    assert made.status_code == 201 and made.json()["model"] == "openai/good"
    tried = [r["model"] for r in llm.requests[before:]]
    assert tried[0] == "slow" and tried.count("rate-limited") == 2 and tried[-1] == "good"
    assert client.post(f"/api/v1/sessions/{sid}/classify").json()["label"] == "sales/call"

    (tmp_path / "down").mkdir()
    down = start(services, redis_url, tmp_path / "down", models)
    client = user(down)
    sid = session_with(down, client, services, SALES, template_id=template(client, "Sales call")["id"])
    for path in ("extraction", "classify"):
        response = client.post(f"/api/v1/sessions/{sid}/{path}", json={})
        assert response.status_code == 503 and "every configured model failed" in response.json()["detail"]
        assert response.headers["Retry-After"] == "30"
    assert client.get(f"/api/v1/sessions/{sid}/extractions").json() == []
    assert client.get(f"/api/v1/sessions/{sid}").json()["classification"] is None

    (tmp_path / "none").mkdir()
    none = start(services, redis_url, tmp_path / "none", None)
    client = user(none)
    sid = session_with(none, client, services, SALES, template_id=template(client, "Sales call")["id"])
    for path in ("extraction", "classify"):
        response = client.post(f"/api/v1/sessions/{sid}/{path}", json={})
        assert response.status_code == 409 and response.json()["detail"].startswith("No language model is configured")


def test_stats_add_up_to_the_sessions_and_the_tokens_reported(api: str, llm: FakeLLM, services: ServiceFactory) -> None:
    client = user(api)
    admin = user(api, ADMIN)
    start_count = len(llm.requests)
    sales = template(client, "Sales call")
    sids = [session_with(api, client, services, SALES, template_id=sales["id"]) for _ in range(2)]
    sids.append(session_with(api, client, services, MEDICAL))
    httpx.post(
        f"{api}/internal/v1/sessions/{sids[0]}/status", json={"status": "live"}, headers=services.headers("agent")
    ).raise_for_status()
    httpx.post(
        f"{api}/internal/v1/sessions/{sids[0]}/status",
        json={"status": "completed", "duration_ms": 90_000},
        headers=services.headers("agent"),
    ).raise_for_status()
    calls = []
    for sid in sids[:2]:
        calls.append(("extraction", client.post(f"/api/v1/sessions/{sid}/extraction", json={})))
        calls.append(("summary", client.post(f"/api/v1/sessions/{sid}/summaries", json={})))
    calls.append(("classification", client.post(f"/api/v1/sessions/{sids[2]}/classify")))
    calls.append(
        ("ask", client.post(f"/api/v1/sessions/{sids[2]}/ask", json={"question": "What medication does the patient take?"}))
    )
    streamed = client.post(
        f"/api/v1/sessions/{sids[2]}/ask", json={"question": "Which follow-up visit?"}, headers={"Accept": "text/event-stream"}
    )
    assert streamed.status_code == 200 and "event: done" in streamed.text
    assert all(r.status_code in (200, 201) for _stage, r in calls), [r.text for _s, r in calls]
    # The tokens the fake provider reported for this user's calls (non-streamed: in each answer).
    reported: dict[str, int] = {}
    for request in llm.requests[start_count:]:
        system = request["messages"][0]["content"]
        stage = (
            "extraction"
            if system.startswith("You extract")
            else "classification"
            if system.startswith("You classify")
            else "ask"
            if system.startswith("You answer")
            else "summary"
        )
        text = "\n".join(m["content"] for m in request["messages"])
        reported[stage] = reported.get(stage, 0) + len(text) // 4
    stats = client.get("/api/v1/stats", params={"days": 7}).json()
    assert stats["sessions"] == 3 and stats["days"] == 7
    minutes = sum(client.get(f"/api/v1/sessions/{sid}").json()["duration_ms"] for sid in sids) / 60000
    assert minutes > 1.5 and stats["live_minutes"] == pytest.approx(minutes, abs=0.01) and stats["batch_minutes"] == 0
    for stage, prompt_tokens in reported.items():
        assert stats["by_stage"][stage]["prompt_tokens"] == prompt_tokens, stage
    assert stats["by_stage"]["ask"]["calls"] == 2 and stats["by_stage"]["ask"]["completion_tokens"] > 0  # the stream's too
    assert stats["by_stage"]["extraction"]["calls"] == 2 and stats["by_stage"]["summary"]["calls"] == 2
    assert stats["by_stage"]["classification"]["calls"] == 1
    assert stats["cost_usd"] == 0  # LiteLLM has no price for the fake model
    total = sum(s["prompt_tokens"] + s["completion_tokens"] for s in stats["by_stage"].values())
    assert [d["tokens"] for d in stats["by_day"]] == [total] and stats["by_day"][0]["sessions"] == 3
    assert client.get("/api/v1/stats", params={"days": 0}).status_code == 422
    assert user(api).get("/api/v1/stats").json()["sessions"] == 0  # another user's figures are their own

    # Admins (ADMIN_EMAILS, any case) see everyone; others are refused with a sentence.
    refused = client.get("/api/v1/admin/stats")
    assert refused.status_code == 403 and "ADMIN_EMAILS" in refused.json()["detail"]
    everyone = admin.get("/api/v1/admin/stats").json()
    mine = next(u for u in everyone["users"] if u["sessions"] == 3 and u["tokens"] == total)
    assert (
        mine["minutes"] == pytest.approx(minutes, abs=0.01)
        and everyone["totals"]["sessions"] >= 3
        and everyone["totals"]["prompt_tokens"] + everyone["totals"]["completion_tokens"] >= total
    )


def test_after_a_meeting_the_worker_classifies_summarises_and_extracts(
    services: ServiceFactory, redis_url: str, llm: FakeLLM, tmp_path: Path
) -> None:
    """A live meeting with no template ends: the batch worker classifies it, takes the matching
    template, writes its summary and extraction, and summary.ready carries the extraction."""
    api = start(services, redis_url, tmp_path, [good(llm)], worker=True)
    client = user(api)
    hook = client.post("/api/v1/webhooks/", json={"url": "http://127.0.0.1:9/hook", "events": ["summary.ready"]}).json()
    sid = session_with(api, client, services, MEDICAL)
    for status in ("live", "completed"):
        httpx.post(
            f"{api}/internal/v1/sessions/{sid}/status", json={"status": status}, headers=services.headers("agent")
        ).raise_for_status()
    deadline = time.monotonic() + 60
    while (found := client.get(f"/api/v1/sessions/{sid}/extraction")).status_code == 404 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert found.status_code == 200, found.text
    session = client.get(f"/api/v1/sessions/{sid}").json()
    medical = template(client, "Medical appointment")
    assert session["template_id"] == medical["id"] and session["template_chosen_by"] == "classifier"
    assert session["classification"]["label"] == "healthcare/appointment"
    data = found.json()["data"]
    assert data["medications_mentioned"] == ["I take ibuprofen 400 mg twice a day, the medication helps a little."]
    assert data["patient_concerns"] == []  # no line names it: nothing invented
    summaries = client.get(f"/api/v1/sessions/{sid}/summaries").json()
    assert len(summaries) == 1 and summaries[0]["template_id"] == medical["id"]
    deliveries = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()
    assert [d["payload"]["extraction"] for d in deliveries] == [data]
    stages = client.get("/api/v1/stats").json()["by_stage"]
    assert {stage: s["calls"] for stage, s in stages.items()} == {"classification": 1, "summary": 1, "extraction": 1}
