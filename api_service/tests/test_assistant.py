"""Questions and the catch-up brief in process (``create_app`` on SQLite; Redis unreachable, so
the brief cache and quotas must do without it). The model is LiteLLM's call replaced by a fake
that answers, cites invented lines, streams in small pieces or fails like a provider; the real
provider path (LiteLLM against a local OpenAI-compatible server) is tests/test_assistant.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import litellm
import pytest
import yaml
from fastapi import FastAPI

from api_service import llm as llm_module
from api_service.app import create_app
from api_service.assistant import NO_MODEL
from api_service.llm import LLMConfig, ModelConfig, load_config
from api_service.passages import CitationFilter, Passage, best_matches, numbered
from api_service.settings import APISettings
from api_service.transcripts import add_segments
from shared.contracts.internal import SegmentIn

pytestmark = [pytest.mark.unit]

MEETING = [
    ("s1", "alice", 5_000, "Welcome everyone, today we review the vendor contract and the hiring plan."),
    ("s2", "bob", 12_000, "The vendor contract renewal costs forty thousand euros a year."),
    ("s3", "alice", 20_000, "We agreed to renew the vendor contract for two years."),
    ("s4", "bob", 31_000, "Who will interview the backend candidates next week?"),
    ("s5", "carol", 40_000, "The hiring plan needs two backend engineers and one designer."),
    ("s6", "carol", 48_000, "The hiring plan needs two backend engineers and one designer."),  # said twice
]


@pytest.fixture(scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    folder: Path = tmp_path_factory.mktemp("assistant")
    settings = APISettings(
        database_url=f"sqlite+aiosqlite:///{folder}/api.db",
        redis_url="redis://127.0.0.1:9/0",  # nothing listens there
        livekit_url="ws://127.0.0.1:9",
        auth_jwt_secret="in-process-tests-secret-0123456789abcdef",  # noqa: S106 - a test secret
        audio_storage_dir=str(folder / "audio"),
        intrascribe_env="development",
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    app.state.llm = None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client
    app.state.llm = None


async def signup(api: httpx.AsyncClient) -> dict[str, str]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    response = await api.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse battery"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def meeting(
    app: FastAPI, api: httpx.AsyncClient, auth: dict[str, str], lines: list[tuple[str, str, int, str]], title: str = "Planning"
) -> str:
    session_id = (await api.post("/api/v1/sessions/", json={"title": title}, headers=auth)).json()["id"]
    segments = [SegmentIn(segment_id=i, speaker=s, start_ms=t, end_ms=t + 4000, text=x) for i, s, t, x in lines]
    async with app.state.sessionmaker() as db:
        await add_segments(db, session_id, segments)
        await db.commit()
    return session_id


class FakeProvider:
    """Stands in for ``litellm.acompletion``: answers with the given text (streamed three
    characters at a time when asked to stream), or raises the given error."""

    def __init__(self, text: str = "", error: Exception | None = None) -> None:
        self.text, self.error = text, error
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **options: Any) -> Any:
        self.calls.append(options)
        if self.error is not None:
            raise self.error
        if options.get("stream"):
            return self.chunks()
        usage = SimpleNamespace(prompt_tokens=10, completion_tokens=5)
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=self.text))], usage=usage)

    async def chunks(self) -> AsyncIterator[Any]:
        for start in range(0, len(self.text), 3):
            yield SimpleNamespace(choices=[SimpleNamespace(delta=SimpleNamespace(content=self.text[start : start + 3]))])


@pytest.fixture
def provider(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    fake = FakeProvider()
    monkeypatch.setattr(llm_module.litellm, "acompletion", fake)
    app.state.llm = LLMConfig(models=[ModelConfig(model="openai/fake", max_retries=0, timeout_s=5)])
    yield fake


def sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_citations_are_checked_and_renumbered_while_the_answer_streams() -> None:
    passages = [Passage("s", "T", f"seg-{n}", n * 1000, n * 1000 + 500, "Ann", f"line {n}") for n in range(1, 6)]
    cite = CitationFilter(numbered(passages))
    answer = " Budget at [01:05] is fine [4] [999], see [2, 4] and [7-9]; [3-4]. [0] "
    pieces = [cite.feed(answer[i : i + 2]) for i in range(0, len(answer), 2)] + [cite.finish()]
    # Invented lines go with the space before them; the text has no space at either end.
    assert "".join(pieces) == "Budget at [01:05] is fine [1], see [2][1] and; [3][1]."
    assert [p.segment_id for p in cite.cited] == ["seg-4", "seg-2", "seg-3"]
    assert CitationFilter(numbered(passages)).rewrite("no markers [at all") == "no markers [at all"


def test_best_matches_rank_by_the_questions_rare_words() -> None:
    passages = [Passage("s", "T", i, t, t + 1, s, x) for i, s, t, x in MEETING]
    assert [p.segment_id for p in best_matches("How much does the contract renewal cost?", passages, 1)] == ["s2"]
    # In the order they were said; a word every line has counts less than a rare one.
    found = best_matches("Who agreed on the vendor contract?", passages, 3)
    assert [p.segment_id for p in found] == ["s1", "s2", "s3"]
    assert [p.segment_id for p in best_matches("Who agreed on the vendor contract?", passages, 1)] == ["s3"]
    assert best_matches("weather forecast", passages, 5) == []


def test_llm_model_alone_configures_a_model_and_the_file_adds_fallbacks(tmp_path: Path) -> None:
    assert load_config("", "", "") is None
    alone = load_config("", "openai/gpt-4o-mini", "")
    assert alone is not None and [(m.model, m.api_base, m.api_key_env) for m in alone.models] == [
        ("openai/gpt-4o-mini", None, None)  # LiteLLM reads OPENAI_API_KEY itself
    ]
    file = tmp_path / "llm.yaml"
    file.write_text(yaml.safe_dump({"token_budget": 900, "models": [{"model": "ollama/qwen2.5:7b"}]}))
    both = load_config(str(file), "openai/local", "http://127.0.0.1:8080/v1")
    assert both is not None and both.token_budget == 900
    assert [(m.model, m.api_base) for m in both.models] == [
        ("openai/local", "http://127.0.0.1:8080/v1"),
        ("ollama/qwen2.5:7b", None),
    ]
    settings = APISettings(auth_jwt_secret="x" * 40, llm_model="anthropic/claude-3-5-haiku-latest")
    configured = llm_module.from_settings(settings)
    assert configured is not None and configured.models[0].model == "anthropic/claude-3-5-haiku-latest"


async def test_without_a_model_the_answer_is_the_matching_passages(app: FastAPI, api: httpx.AsyncClient) -> None:
    alice = await signup(api)
    sid = await meeting(app, api, alice, MEETING)
    response = await api.post(f"/api/v1/sessions/{sid}/ask", json={"question": "How much does the renewal cost?"}, headers=alice)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] is None and answer["answer"].startswith(NO_MODEL)
    assert answer["citations"][0]["segment_id"] == "s2" and answer["citations"][0]["ref"] == 1
    assert "[1] [00:12] bob: The vendor contract renewal costs forty thousand euros a year." in answer["answer"]
    nothing = await api.post(f"/api/v1/sessions/{sid}/ask", json={"question": "weather forecast"}, headers=alice)
    assert nothing.json()["citations"] == [] and "No passage of the transcript matches" in nothing.json()["answer"]
    streamed = await api.post(
        f"/api/v1/sessions/{sid}/ask",
        json={"question": "How much does the renewal cost?"},
        headers={**alice, "Accept": "text/event-stream"},
    )
    events = sse(streamed.text)
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert [kind for kind, _ in events] == ["delta", "done"] and events[1][1] == answer


async def test_questions_are_checked_with_sentences(app: FastAPI, api: httpx.AsyncClient) -> None:
    alice = await signup(api)
    sid = await meeting(app, api, alice, MEETING[:1])
    for question, says in (
        ("", "The question is empty"),
        ("  \n\t ", "The question is empty"),
        ("\x00\x01", "The question is empty"),
        ("x" * 2001, "The question is too long: keep it under 2000 characters (it has 2001)"),
    ):
        for path in (f"/api/v1/sessions/{sid}/ask", "/api/v1/ask"):
            response = await api.post(path, json={"question": question}, headers=alice)
            assert response.status_code == 422 and says in response.text, (path, question[:10], response.text)
    assert (await api.post("/api/v1/ask", json={"question": "cost", "session_ids": []}, headers=alice)).status_code == 422
    assert (await api.post(f"/api/v1/sessions/{sid}/ask", json={}, headers=alice)).status_code == 422
    assert (await api.get(f"/api/v1/sessions/{sid}/brief", params={"since_ms": -1}, headers=alice)).status_code == 422


async def test_another_users_meetings_are_not_found_nor_searched(app: FastAPI, api: httpx.AsyncClient) -> None:
    alice, bob = await signup(api), await signup(api)
    alices = await meeting(app, api, alice, MEETING, title="Alice's planning")
    bobs = await meeting(app, api, bob, [("b1", "bob", 0, "Our vendor contract with Globex ends in May.")], title="Bob's")
    question = {"question": "What about the vendor contract?"}
    for method, path in (("POST", f"/api/v1/sessions/{alices}/ask"), ("GET", f"/api/v1/sessions/{alices}/brief")):
        response = await api.request(method, path, json=question if method == "POST" else None, headers=bob)
        assert response.status_code == 404 and response.json()["detail"] == "session not found", path
    # Across meetings: only one's own passages, and another user's session id is a 404 (as a missing one).
    mine = (await api.post("/api/v1/ask", json=question, headers=bob)).json()
    assert {c["session_id"] for c in mine["citations"]} == {bobs} and mine["citations"][0]["session_title"] == "Bob's"
    assert '[1] "Bob\'s" [00:00] bob: Our vendor contract with Globex ends in May.' in mine["answer"]
    theirs = await api.post("/api/v1/ask", json={**question, "session_ids": [bobs, alices]}, headers=bob)
    assert theirs.status_code == 404
    missing = await api.post("/api/v1/ask", json={**question, "session_ids": [str(uuid.uuid4())]}, headers=bob)
    assert missing.status_code == 404
    hers = (await api.post("/api/v1/ask", json={**question, "session_ids": [alices]}, headers=alice)).json()
    assert hers["citations"] and {c["session_id"] for c in hers["citations"]} == {alices}


async def test_the_brief_without_a_model_takes_sentences_and_invents_nothing(app: FastAPI, api: httpx.AsyncClient) -> None:
    alice = await signup(api)
    sid = await meeting(app, api, alice, MEETING)
    brief = (await api.get(f"/api/v1/sessions/{sid}/brief", headers=alice)).json()
    assert brief["model"] is None and "No language model is configured" in brief["note"]
    assert [d["text"] for d in brief["decisions"]] == ["We agreed to renew the vendor contract for two years."]
    assert [q["text"] for q in brief["open_questions"]] == ["Who will interview the backend candidates next week?"]
    texts = [i["text"] for part in ("discussed", "decisions", "open_questions") for i in brief[part]]
    assert len(texts) == len(set(texts))  # the sentence said twice is there once
    assert "The hiring plan needs two backend engineers and one designer." in texts
    by_ref = {c["ref"]: c["segment_id"] for c in brief["citations"]}
    assert [by_ref[r] for r in brief["decisions"][0]["refs"]] == ["s3"]
    assert brief["transcript_version"].startswith("1.6.")
    # From 00:30 on; and a meeting where nothing reads like a decision or a question has none.
    later = (await api.get(f"/api/v1/sessions/{sid}/brief", params={"since_ms": 30_000}, headers=alice)).json()
    assert later["decisions"] == [] and later["citations"][0]["segment_id"] == "s4"
    plain = await meeting(app, api, alice, [MEETING[1], MEETING[4]])
    none = (await api.get(f"/api/v1/sessions/{plain}/brief", headers=alice)).json()
    assert none["decisions"] == [] and none["open_questions"] == [] and len(none["discussed"]) == 2


async def test_a_models_invented_citations_are_dropped(app: FastAPI, api: httpx.AsyncClient, provider: FakeProvider) -> None:
    alice = await signup(api)
    sid = await meeting(app, api, alice, MEETING)
    provider.text = "It costs forty thousand euros a year [2][99], agreed for two years [3]."
    answer = (await api.post(f"/api/v1/sessions/{sid}/ask", json={"question": "cost?"}, headers=alice)).json()
    assert answer["answer"] == "It costs forty thousand euros a year [1], agreed for two years [2]."
    assert [c["segment_id"] for c in answer["citations"]] == ["s2", "s3"] and answer["model"] == "openai/fake"
    prompt = provider.calls[-1]["messages"][1]["content"]
    assert "[2] [00:12] bob: The vendor contract renewal costs forty thousand euros a year." in prompt
    assert "transcript does not say" in provider.calls[-1]["messages"][0]["content"]
    streamed = await api.post(
        f"/api/v1/sessions/{sid}/ask", json={"question": "cost?"}, headers={**alice, "Accept": "text/event-stream"}
    )
    events = sse(streamed.text)
    deltas = [data["text"] for kind, data in events if kind == "delta"]
    assert len(deltas) > 5 and "".join(deltas) == answer["answer"]
    assert events[-1] == ("done", answer)


async def test_a_failing_model_falls_back_to_passages(app: FastAPI, api: httpx.AsyncClient, provider: FakeProvider) -> None:
    alice = await signup(api)
    sid = await meeting(app, api, alice, MEETING)
    provider.error = litellm.RateLimitError("Rate limit reached", llm_provider="openai", model="fake")
    for accept in ("application/json", "text/event-stream"):
        response = await api.post(
            f"/api/v1/sessions/{sid}/ask", json={"question": "renewal cost"}, headers={**alice, "Accept": accept}
        )
        assert response.status_code == 200
        answer = response.json() if accept == "application/json" else sse(response.text)[-1][1]
        assert answer["model"] is None and answer["answer"].startswith(
            "The language model could not answer (rate-limited): showing"
        )
        assert answer["citations"][0]["segment_id"] == "s2"
    # Nothing matches and the model fails: nothing can be given.
    refused = await api.post(f"/api/v1/sessions/{sid}/ask", json={"question": "weather forecast"}, headers=alice)
    assert refused.status_code == 503 and "try again in a minute" in refused.json()["detail"]
    provider.error, provider.text = None, "   "
    empty = (await api.post(f"/api/v1/sessions/{sid}/ask", json={"question": "renewal cost"}, headers=alice)).json()
    assert (
        empty["note"] == "The language model could not answer (an empty answer)." and empty["citations"][0]["segment_id"] == "s2"
    )
    provider.text = '{"discussed": [{"text": "unfinished'
    brief = (await api.get(f"/api/v1/sessions/{sid}/brief", headers=alice)).json()
    assert brief["model"] is None and "not valid JSON" in brief["note"] and len(provider.calls) >= 2
    assert [d["text"] for d in brief["decisions"]] == ["We agreed to renew the vendor contract for two years."]


async def test_the_models_brief_keeps_real_citations(app: FastAPI, api: httpx.AsyncClient, provider: FakeProvider) -> None:
    alice = await signup(api)
    sid = await meeting(app, api, alice, MEETING)
    provider.text = json.dumps(
        {
            "discussed": [{"text": "The vendor contract renewal", "refs": [2, 3, 42]}, "The hiring plan"],
            "decisions": [{"text": "Renew the vendor contract for two years", "refs": [3]}],
            "open_questions": [{"text": "Who interviews the backend candidates?", "refs": ["4"]}],
        }
    )
    brief = (await api.get(f"/api/v1/sessions/{sid}/brief", headers=alice)).json()
    assert brief["model"] == "openai/fake" and brief["cached"] is False and brief["note"] is None
    assert [c["segment_id"] for c in brief["citations"]] == ["s2", "s3", "s4"]
    assert brief["discussed"] == [
        {"text": "The vendor contract renewal", "refs": [1, 2]},
        {"text": "The hiring plan", "refs": []},
    ]
    assert brief["decisions"][0]["refs"] == [2] and brief["open_questions"][0]["refs"] == [3]
