"""Questions about meetings and the catch-up brief, answered from the transcript with citations.

A model gets the transcript lines numbered (``[n] [mm:ss] Speaker: text``) and cites them with
``[n]``; only numbers that were in its prompt become citations (``passages.CitationFilter``).
Without a model, or when every model fails, a question is answered with the passages that match
it best, and says so; the brief is made of sentences taken from the transcript, with decisions and
open questions only where a sentence reads like one. The questions are put together here for the
REST routes and the MCP tools alike (``meeting_question``, ``across_meetings``); no database
connection is held while a model writes (``reply`` gives it back first)."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, Field, ValidationError, field_validator
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service import transcripts, usage
from api_service.db.models import MeetingSession, SessionStatus
from api_service.deps import before_model_call, not_found, owned_session
from api_service.llm import LLMConfig, LLMUnavailable, complete, stream
from api_service.passages import (
    CitationFilter,
    Passage,
    best_matches,
    numbered,
    question_terms,
    ranked,
    refs_to_passages,
    terms,
    within_budget,
)
from api_service.quotas import Quotas
from api_service.schemas.assistant import AskAnswer, AskRequest, Brief, BriefItem, Citation
from api_service.summaries import _strip_fences, chunks
from api_service.text import STOPWORDS, estimate_tokens
from shared.timecode import short_time

log = logging.getLogger(__name__)

NO_MODEL = "No language model is configured: showing the matching passages."
PASSAGES_SHOWN = 5
MAX_PASSAGES_FOR_MODEL = 40
BRIEF_ITEMS = 8
BRIEF_CACHE_TTL_S = 24 * 3600

ASK_SYSTEM = (
    "You answer questions about {what} using only the transcript lines below. Each line is numbered: "
    "[n] [mm:ss] Speaker: text. Answer briefly, in the language of the question. After each statement, cite "
    "the lines it rests on by their numbers in square brackets, like [3] or [3][7]; cite only numbers shown. "
    "If the lines do not contain the answer, say that the transcript does not say, and cite nothing."
)


@dataclass
class Question:
    """A question ready to answer: its numbered lines, the prompt (None when there is nothing a
    model could answer from) and the passages to show instead."""

    question: str
    lines: dict[int, Passage]
    messages: list[dict[str, str]] | None
    matches: list[Passage]
    where: str  # "the transcript" / "your meetings", for the sentences people read
    session_id: str | None = None  # the meeting asked about (None: across meetings), for usage


def citations(passages: Sequence[Passage]) -> list[Citation]:
    return [
        Citation(
            ref=n,
            session_id=p.session_id,
            session_title=p.session_title,
            segment_id=p.segment_id,
            start_ms=p.start_ms,
            end_ms=p.end_ms,
            speaker=p.speaker,
            text=p.text,
        )
        for n, p in enumerate(passages, 1)
    ]


def session_question(llm: LLMConfig | None, question: str, passages: list[Passage], *, live: bool, title: str) -> Question:
    """One meeting's question: the whole transcript when it fits the model's budget, else the
    lines that match the question best and those around them."""
    matches = best_matches(question, passages, PASSAGES_SHOWN)
    if llm is None or not passages:
        return Question(question, {}, None, matches, "the transcript")
    lines = numbered(within_budget(question, passages, llm.token_budget))
    what = f'the meeting "{title}"' + (" (still going on: this is the transcript so far)" if live else "")
    messages = [
        {"role": "system", "content": ASK_SYSTEM.format(what=what)},
        {
            "role": "user",
            "content": "Transcript:\n" + "\n".join(p.line(n) for n, p in lines.items()) + f"\n\nQuestion: {question}",
        },
    ]
    return Question(question, lines, messages, matches, "the transcript")


def across_question(llm: LLMConfig | None, question: str, found: list[Passage]) -> Question:
    """A question over several meetings, from the passages the full-text search found."""
    matches = best_matches(question, found, PASSAGES_SHOWN)
    if llm is None or not found:
        return Question(question, {}, None, matches, "your meetings")
    chosen: set[int] = set()
    used = 0
    for p in ranked(question, found, MAX_PASSAGES_FOR_MODEL):  # the best first, while they fit
        used += estimate_tokens(p.line(99))
        if used > llm.token_budget:
            break
        chosen.add(id(p))
    by_session: dict[str, list[Passage]] = {}
    for p in found:  # each meeting's passages together, in the order they were said
        if id(p) in chosen:
            by_session.setdefault(p.session_id, []).append(p)
    lines: dict[int, Passage] = {}
    text = []
    for group in by_session.values():
        date = f" ({group[0].session_date})" if group[0].session_date else ""
        text.append(f'Meeting "{group[0].session_title}"{date}:')
        for p in group:
            lines[len(lines) + 1] = p
            text.append(p.line(len(lines)))
    what = "the user's meetings (passages a keyword search found; they may not hold the answer)"
    messages = [
        {"role": "system", "content": ASK_SYSTEM.format(what=what)},
        {"role": "user", "content": "\n".join(text) + f"\n\nQuestion: {question}"},
    ]
    return Question(question, lines, messages, matches, "your meetings")


async def meeting_question(db: AsyncSession, llm: LLMConfig | None, user_id: str, session_id: str, question: str) -> Question:
    """A question about one of the user's meetings, finished or live (404 for another user's,
    as for a missing one)."""
    return await question_about(db, llm, await owned_session(db, session_id, user_id), question)


async def question_about(db: AsyncSession, llm: LLMConfig | None, row: MeetingSession, question: str) -> Question:
    """A question about the meeting ``row`` (whoever may read it: the caller checked)."""
    _version, segments = await transcripts.read_segments(db, row.id)
    passages = [Passage.of(row.id, row.title, s) for s in segments]
    q = session_question(llm, question, passages, live=row.status == SessionStatus.live, title=row.title)
    q.session_id = row.id
    return q


async def across_meetings(
    db: AsyncSession, llm: LLMConfig | None, user_id: str, question: str, session_ids: list[str] | None = None
) -> Question:
    """A question across the user's meetings (only ``session_ids``, when given: each must be the
    user's, else 404 as for a missing one), from the passages the full-text index finds."""
    if session_ids is not None:
        mine = set(
            (
                await db.execute(
                    select(MeetingSession.id).where(MeetingSession.id.in_(session_ids), MeetingSession.user_id == user_id)
                )
            ).scalars()
        )
        if len(mine) != len(set(session_ids)):
            raise not_found()
    words, fragments = question_terms(question)
    rows = await transcripts.find_passages(db, user_id, words, fragments, session_ids)
    found = [Passage.of(r["session_id"], r["session_title"], r) for r in rows]
    return across_question(llm, question, found)


def passages_answer(q: Question, reason: str | None = None) -> AskAnswer:
    """The passages that match best, as the answer (no model, or the model failed: ``reason``)."""
    note = None if reason is None else f"The language model could not answer ({reason})."
    head = NO_MODEL if reason is None else f"The language model could not answer ({reason}): showing the matching passages."
    if not q.matches:
        body = f"No passage of {q.where} matches the question."
    else:
        titled = q.where == "your meetings"
        body = "\n".join(p.line(n, titled=titled) for n, p in enumerate(q.matches, 1))
    return AskAnswer(answer=f"{head}\n\n{body}", citations=citations(q.matches), model=None, note=note)


def without_model(llm: LLMConfig | None, q: Question) -> AskAnswer | None:
    """The answer when no model is to be asked (None when one is): the matching passages when no
    model is configured; else a sentence saying there is nothing to read."""
    if q.messages is not None:
        return None
    if llm is None:
        return passages_answer(q)
    if q.where == "the transcript":
        return AskAnswer(answer="Nothing has been transcribed in this meeting yet.", citations=[], model=None)
    return AskAnswer(
        answer="No passage of your meetings matches the question; try words that were said, or a name.",
        citations=[],
        model=None,
    )


class ModelFailed(Exception):
    """The model failed and no passage matches: nothing can be given (503)."""


def _after_failure(q: Question, reason: str) -> AskAnswer:
    if not q.matches:
        raise ModelFailed(
            f"The language model could not answer ({reason}) and no passage of {q.where} matches the question; "
            "try again in a minute."
        )
    return passages_answer(q, reason)


def _reason(exc: LLMUnavailable) -> str:
    """What went wrong with each model, in words: "timed out, rate-limited"."""
    kinds: list[str] = []
    for failure in str(exc).split(";"):
        kind = "rate-limited" if "RateLimit" in failure else "timed out" if "Timeout" in failure else "unavailable"
        if kind not in kinds:
            kinds.append(kind)
    return ", ".join(kinds)


async def answer(llm: LLMConfig, q: Question) -> AskAnswer:
    assert q.messages is not None
    try:
        completion = await complete(llm, q.messages, json_mode=False)
    except LLMUnavailable as exc:
        return _after_failure(q, _reason(exc))
    cite = CitationFilter(q.lines)
    text = cite.rewrite(completion.text)
    if not text:
        return _after_failure(q, "an empty answer")
    return AskAnswer(answer=text, citations=citations(cite.cited), model=completion.model)


async def reply(llm: LLMConfig | None, q: Question, quotas: Quotas, user_id: str, db: AsyncSession) -> AskAnswer:
    """The whole answer at once: without a model (or with nothing to read) as ``without_model``
    says; else the model's, counted against the user's quota (429) and with the database
    connection given back first. ``ModelFailed`` when the model fails and no passage matches."""
    if (direct := without_model(llm, q)) is not None:
        return direct
    assert llm is not None
    await before_model_call(quotas, user_id, db)
    async with usage.metered(db, user_id, q.session_id, "ask"):
        made = await answer(llm, q)
    await db.commit()
    return made


async def chat_reply(db: AsyncSession, llm: LLMConfig | None, quotas: Quotas, row: MeetingSession, question: str) -> str:
    """The agent's reply to a question typed in the meeting's chat, as one message: the answer,
    then its citations as ``[k] [mm:ss] Speaker`` lines (the passages of a model-less answer are
    already written so); when nothing can be answered, the sentence that says why."""
    try:
        question = AskRequest(question=question).question
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"])
    q = await question_about(db, llm, row, question)
    try:
        answer = await reply(llm, q, quotas, row.user_id, db)
    except ModelFailed as exc:
        return str(exc)
    except HTTPException as exc:  # the owner's daily quota
        return str(exc.detail)
    if answer.model is None:
        return answer.answer
    refs = [f"[{k}] [{short_time(c.start_ms)}] {c.speaker or 'Speaker'}" for k, c in enumerate(answer.citations, 1)]
    return "\n".join([answer.answer, *refs])


async def answer_stream(llm: LLMConfig, q: Question) -> AsyncIterator[str | AskAnswer]:
    """The answer as it is written (text pieces), then the whole answer with its citations."""
    assert q.messages is not None
    cite = CitationFilter(q.lines)
    written: list[str] = []
    model = None
    try:
        async for delta in stream(llm, q.messages):
            model = delta.model
            if piece := cite.feed(delta.text):
                written.append(piece)
                yield piece
    except LLMUnavailable as exc:
        if not "".join(written).strip():
            fallback = _after_failure(q, _reason(exc))
            yield fallback.answer
            yield fallback
            return
        note = "The language model stopped before finishing its answer."
        tail = cite.finish() + f"\n\n({note})"
        written.append(tail)
        yield tail
        yield AskAnswer(answer="".join(written), citations=citations(cite.cited), model=model, note=note)
        return
    if tail := cite.finish():
        written.append(tail)
        yield tail
    if not "".join(written).strip():
        fallback = _after_failure(q, "an empty answer")
        yield fallback.answer
        yield fallback
        return
    yield AskAnswer(answer="".join(written), citations=citations(cite.cited), model=model)


# The brief ------------------------------------------------------------------------------------

DECISION = re.compile(
    r"\b(we\s+(have\s+|'ve\s+)?(decided|agreed)|decided|agreed|let'?s|let\s+us|we\s+will|we'll|will|going\s+to)\b"
    r"|决定|同意|定了|就这么|我们会|我们将",
    re.I,
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
BRIEF_SYSTEM = (
    "You write a catch-up for someone joining a meeting late. The transcript lines are numbered: "
    "[n] [mm:ss] Speaker: text. Answer with one JSON object only, shaped "
    '{"discussed": [{"text": str, "refs": [int]}], "decisions": [{"text": str, "refs": [int]}], '
    '"open_questions": [{"text": str, "refs": [int]}]}. '
    "discussed: the topics so far, a short sentence each; decisions: only what the speakers decided or agreed; "
    "open_questions: questions raised and not yet answered. refs: the numbers of the lines each rests on. "
    "Use only what the transcript says; leave a list empty rather than guess. Write in {language}."
)


class _DraftItem(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    refs: list[int] = Field(default_factory=list, max_length=50)


class _Draft(BaseModel):
    discussed: list[_DraftItem] = Field(default_factory=list)
    decisions: list[_DraftItem] = Field(default_factory=list)
    open_questions: list[_DraftItem] = Field(default_factory=list)

    @field_validator("discussed", "decisions", "open_questions", mode="before")
    @classmethod
    def plain_strings(cls, value: Any) -> Any:
        return [{"text": v} if isinstance(v, str) else v for v in value] if isinstance(value, list) else value


Sections = dict[str, list[tuple[str, list[Passage]]]]


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _assemble(
    session_id: str, since_ms: int, sections: Sections, model: str | None, version: str, note: str | None = None
) -> Brief:
    """Items once each (across the lists), citations in the order they were said."""
    seen: set[str] = set()
    kept: Sections = {}
    for name in ("decisions", "open_questions", "discussed"):
        kept[name] = []
        for text, cited in sections.get(name, []):
            if (key := _key(text)) and key not in seen and len(kept[name]) < BRIEF_ITEMS:
                seen.add(key)
                kept[name].append((text.strip(), cited))
    cited_all = sorted({p for items in kept.values() for _t, ps in items for p in ps}, key=lambda p: (p.start_ms, p.segment_id))
    ref = {p: n for n, p in enumerate(cited_all, 1)}
    items = {name: [BriefItem(text=t, refs=sorted({ref[p] for p in ps})) for t, ps in kept[name]] for name in kept}
    return Brief(
        session_id=session_id,
        since_ms=since_ms,
        discussed=items["discussed"],
        decisions=items["decisions"],
        open_questions=items["open_questions"],
        citations=citations(cited_all),
        model=model,
        transcript_version=version,
        note=note,
    )


def extractive_brief(session_id: str, since_ms: int, passages: list[Passage], version: str, note: str) -> Brief:
    """Sentences taken from the transcript: decisions only where a sentence says one ("we decided",
    "agreed", "let's", "will"), open questions only sentences that end in a question mark, and the
    most representative of the rest as what was discussed."""
    sentences = [(p, s.strip()) for p in passages for s in SENTENCE_END.split(p.text) if s.strip()]
    questions = [(s, [p]) for p, s in sentences if s.endswith(("?", "？")) and len(terms(s)) >= 2]
    decisions = [(s, [p]) for p, s in sentences if not s.endswith(("?", "？")) and DECISION.search(s)]
    taken = {_key(s) for s, _ps in questions + decisions}
    rest = [(p, s) for p, s in sentences if _key(s) not in taken and len(terms(s)) >= 3]
    words = Counter(w for _p, s in rest for w in terms(s) if w not in STOPWORDS)

    def score(text: str) -> float:
        tokens = terms(text)
        return sum(words[w] for w in tokens) / (len(tokens) + 3)

    top = sorted(sorted(range(len(rest)), key=lambda i: -score(rest[i][1]))[:BRIEF_ITEMS])
    discussed = [(rest[i][1], [rest[i][0]]) for i in top]
    sections: Sections = {"discussed": discussed, "decisions": decisions, "open_questions": questions}
    return _assemble(session_id, since_ms, sections, None, version, note)


async def _draft(llm: LLMConfig, messages: list[dict[str, str]]) -> tuple[_Draft, str]:
    """One call, and one retry that shows the model its error; ValueError after that."""
    for attempt in range(2):
        completion = await complete(llm, messages)
        try:
            return _Draft.model_validate(json.loads(_strip_fences(completion.text))), completion.model
        except (json.JSONDecodeError, ValidationError) as exc:
            if attempt == 1:
                raise ValueError("the model's brief was not valid JSON of its shape") from exc
            messages = [
                *messages,
                {"role": "assistant", "content": completion.text[:4000]},
                {
                    "role": "user",
                    "content": f"That was not valid JSON of the required shape ({str(exc)[:300]}). "
                    "Answer again with the JSON object only.",
                },
            ]
    raise AssertionError("unreachable")


async def model_brief(
    llm: LLMConfig, session_id: str, since_ms: int, passages: list[Passage], version: str, language: str | None, live: bool
) -> Brief:
    """The model's brief, part by part when the transcript is over the budget. When the model
    fails or answers nonsense twice, the extractive brief, with a note that says why."""
    lines = numbered(passages)
    text = [p.line(n) for n, p in lines.items()]
    sections: Sections = {"discussed": [], "decisions": [], "open_questions": []}
    system = BRIEF_SYSTEM.replace(
        "{language}", f"the transcript's language ({language})" if language else "the transcript's language"
    )
    model = None
    try:
        for part in chunks(text, llm.token_budget):
            head = f"Transcript from {short_time(since_ms)}" + (" (the meeting is still going on)" if live else "") + ":\n"
            draft, model = await _draft(
                llm, [{"role": "system", "content": system}, {"role": "user", "content": head + "\n".join(part)}]
            )
            for name in sections:
                sections[name] += [(item.text, refs_to_passages(item.refs, lines)) for item in getattr(draft, name)]
    except (LLMUnavailable, ValueError) as exc:
        reason = _reason(exc) if isinstance(exc, LLMUnavailable) else "its answer was not valid JSON, twice"
        note = f"The language model could not write the brief ({reason}): these are sentences taken from the transcript."
        return extractive_brief(session_id, since_ms, passages, version, note)
    return _assemble(session_id, since_ms, sections, model, version)


def brief_cache_key(llm: LLMConfig, session_id: str, since_ms: int, version: str) -> str:
    models = ",".join(m.model for m in llm.models)
    return f"brief:{session_id}:{since_ms}:{version}:{models}"


async def cached_brief(redis: Redis, key: str) -> Brief | None:
    try:
        raw = await redis.get(key)
    except RedisError as exc:
        log.warning("brief cache unavailable: %s", exc)
        return None
    if raw is None:
        return None
    try:
        return Brief.model_validate_json(raw).model_copy(update={"cached": True})
    except ValidationError:
        return None


async def cache_brief(redis: Redis, key: str, brief: Brief) -> None:
    try:
        await redis.set(key, brief.model_dump_json(), ex=BRIEF_CACHE_TTL_S)
    except RedisError as exc:
        log.warning("brief not cached: %s", exc)
