"""Meeting summaries: the transcript goes to the model as ``[mm:ss] Speaker: text`` lines; the
template's sections become instructions; the answer is JSON validated with pydantic (one retry
with the validation error on bad JSON). Transcripts over the token budget are summarised in
chunks first (map), then combined (reduce). With no model configured, an extractive digest is
returned and says so (``model: "extractive-fallback"``). A user's edit of a summary is stored as
a further version whose model is ``edited-by-user``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service import digest
from api_service.db.models import Extraction, Summary
from api_service.llm import Completion, LLMConfig, complete
from api_service.text import estimate_tokens
from api_service.webhooks import emit
from shared.contracts.webhooks import SummaryReady
from shared.timecode import short_time

EXTRACTIVE = "extractive-fallback"
EDITED = "edited-by-user"
MAX_EDIT_CHARS = 100_000


class ActionItem(BaseModel):
    owner: str | None = None
    due: str | None = None
    text: str
    segment_ids: list[str] = Field(default_factory=list)


class Section(BaseModel):
    title: str
    content: str


class SummaryContent(BaseModel):
    title: str = ""
    summary: str
    key_points: list[str] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    language: str | None = None
    note: str | None = None


@dataclass
class SummaryResult:
    content: SummaryContent
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: list[Completion] = field(default_factory=list)


def transcript_lines(segments: list[dict[str, Any]]) -> list[str]:
    return [
        f"[{short_time(s['start_ms'])}] ({s['segment_id']}) {s.get('speaker_name') or s.get('speaker') or 'Speaker'}: {s['text']}"
        for s in segments
    ]


def template_instructions(sections: list[dict[str, Any]] | None, content: str | None) -> str:
    if sections:
        parts = [f'- "{s["title"]}": {s.get("instruction", "")} (format: {s.get("format", "paragraph")})' for s in sections]
        return "Fill these sections, in this order, in `sections`:\n" + "\n".join(parts)
    if content:
        return f"Follow this template for `sections`:\n{content}"
    return "Leave `sections` empty."


SCHEMA = (
    '{"title": str, "summary": str, "key_points": [str], "decisions": [str], '
    '"action_items": [{"owner": str|null, "due": str|null, "text": str, "segment_ids": [str]}], '
    '"sections": [{"title": str, "content": str}], "language": str}'
)


def system_prompt(language: str | None, instructions: str) -> str:
    lang = f"the transcript's language ({language})" if language else "the language the transcript is in"
    return (
        f"You write meeting minutes. Answer with one JSON object only, shaped {SCHEMA}. Write in {lang}. "
        "Use only what the transcript says; name owners only if the transcript does; cite the segment ids "
        "(the parenthesised ids) each action item comes from. " + instructions
    )


def chunks(lines: list[str], budget: int) -> list[list[str]]:
    out: list[list[str]] = [[]]
    used = 0
    for line in lines:
        cost = estimate_tokens(line)
        if out[-1] and used + cost > budget:
            out.append([])
            used = 0
        out[-1].append(line)
        used += cost
    return out


async def ask_json(config: LLMConfig, messages: list[dict[str, str]], result: SummaryResult) -> SummaryContent:
    """One call, and one retry that shows the model its validation error."""
    for attempt in range(2):
        completion = await complete(config, messages)
        result.calls.append(completion)
        try:
            return SummaryContent.model_validate(json.loads(_strip_fences(completion.text)))
        except (json.JSONDecodeError, ValidationError) as exc:
            if attempt == 1:
                raise ValueError(f"the model did not return valid summary JSON: {str(exc)[:300]}") from exc
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


def _strip_fences(text: str) -> str:
    match = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    return match.group(1) if match else text


async def summarize(
    config: LLMConfig | None,
    segments: list[dict[str, Any]],
    language: str | None,
    sections: list[dict[str, Any]] | None = None,
    template_content: str | None = None,
) -> SummaryResult:
    if config is None:
        return extractive(segments, language, sections)
    lines = transcript_lines(segments)
    instructions = template_instructions(sections, template_content)
    result = SummaryResult(content=SummaryContent(summary=""), model="")
    parts = chunks(lines, config.token_budget)
    if len(parts) == 1:
        result.content = await ask_json(
            config,
            [
                {"role": "system", "content": system_prompt(language, instructions)},
                {"role": "user", "content": "Transcript:\n" + "\n".join(lines)},
            ],
            result,
        )
    else:
        partials = []
        for n, part in enumerate(parts, 1):
            partials.append(
                await ask_json(
                    config,
                    [
                        {"role": "system", "content": system_prompt(language, "Leave `sections` empty.")},
                        {"role": "user", "content": f"Part {n} of {len(parts)} of a meeting transcript:\n" + "\n".join(part)},
                    ],
                    result,
                )
            )
        combined = json.dumps([p.model_dump(exclude={"sections"}) for p in partials], ensure_ascii=False)
        result.content = await ask_json(
            config,
            [
                {"role": "system", "content": system_prompt(language, instructions)},
                {
                    "role": "user",
                    "content": "Combine these partial minutes of one meeting (in order) into one set of minutes, "
                    "merging duplicates and keeping every action item:\n" + combined,
                },
            ],
            result,
        )
    result.content.language = result.content.language or language
    result.model = result.calls[-1].model
    result.prompt_tokens = sum(c.prompt_tokens for c in result.calls)
    result.completion_tokens = sum(c.completion_tokens for c in result.calls)
    result.cost_usd = round(sum(c.cost_usd for c in result.calls), 6)
    return result


async def generate_title(config: LLMConfig | None, text: str, language: str | None) -> tuple[str, str]:
    """(title, model)."""
    if config is None or not text.strip():
        sentences: list[tuple[dict[str, Any], str]] = [
            ({}, t) for t in re.split(r"(?<=[.!?。！？])\s*", text.strip()) if t.strip()
        ]
        return generate_title_fallback(sentences), EXTRACTIVE
    lang = f" in {language}" if language else " in the text's language"
    completion = await complete(
        config,
        [
            {
                "role": "system",
                "content": f"Give a short, specific meeting title (at most 10 words){lang}. Answer with the title only.",
            },
            {"role": "user", "content": text[: config.token_budget * 4]},
        ],
        json_mode=False,
    )
    return completion.text.strip().strip('"“”').splitlines()[0][:200], completion.model


def extractive(
    segments: list[dict[str, Any]], language: str | None, sections: list[dict[str, Any]] | None = None
) -> SummaryResult:
    """No model: sentences taken from the transcript (api_service/digest.py), each once, the
    template's headings filled by what they ask for. It says what it is."""
    found = digest.digest(segments, sections)

    def joined(sentences: list[digest.Sentence]) -> str:
        return "\n".join(f"- {s.text}" for s in sentences) or digest.NOTHING_MATCHED

    content = SummaryContent(
        title=generate_title_fallback([(s.segment, s.text) for s in digest.sentences_of(segments)]),
        summary=" ".join(s.text for s in found.summary) or "The transcript is empty.",
        key_points=[s.text for s in found.key_points],
        decisions=[s.text for s in found.decisions],
        action_items=[
            ActionItem(text=a.sentence.text, owner=a.owner, due=a.due, segment_ids=[str(a.sentence.segment["segment_id"])])
            for a in found.actions
        ],
        sections=[Section(title=title, content=joined(filled)) for title, filled in found.sections],
        language=language,
        note="No language model is configured: these sentences are taken from the transcript, not an AI summary.",
    )
    return SummaryResult(content=content, model=EXTRACTIVE)


def generate_title_fallback(sentences: list[tuple[dict[str, Any], str]]) -> str:
    return sentences[0][1].strip()[:80].rstrip(" .。") if sentences else "Untitled meeting"


def action_line(item: ActionItem) -> str:
    return f"- [ ] {item.text}" + (f" — {item.owner}" if item.owner else "") + (f" (due {item.due})" if item.due else "")


def to_markdown(content: SummaryContent) -> str:
    """The minutes as Markdown. A template's sections are the layout: the standard blocks
    (summary, key points, decisions, action items) are written only where no section of the same
    kind covers them, so nothing is said twice."""
    covered = {digest.heading_kind(section.title) for section in content.sections}
    parts = []
    if content.note:
        parts.append(f"> {content.note}\n")
    if "summary" not in covered:
        parts.append(content.summary.strip() + "\n")
    blocks = (
        ("Key points", "discussion", [f"- {i}" for i in content.key_points]),
        ("Decisions", "decisions", [f"- {i}" for i in content.decisions]),
        ("Action items", "actions", [action_line(a) for a in content.action_items]),
    )
    for heading, kind, lines in blocks:
        if lines and kind not in covered:
            parts.append(f"### {heading}\n" + "\n".join(lines) + "\n")
    for section in content.sections:
        # The action items, with owners and dates, under the template's own heading for them.
        if digest.heading_kind(section.title) == "actions" and content.action_items:
            body = "\n".join(action_line(a) for a in content.action_items)
        else:
            body = section.content.strip()
        parts.append(f"### {section.title}\n{body}\n")
    return "\n".join(parts)


async def versions(db: AsyncSession, session_id: str, limit: int | None = None) -> list[Summary]:
    """The session's summaries, the latest version first (``limit``: only the first ones)."""
    statement = select(Summary).where(Summary.session_id == session_id).order_by(Summary.version.desc()).limit(limit)
    return list((await db.execute(statement)).scalars())


async def latest(db: AsyncSession, session_id: str) -> Summary | None:
    """The session's latest summary (a user's edit, when that is the latest), or None."""
    found = await versions(db, session_id, limit=1)
    return found[0] if found else None


async def next_version(db: AsyncSession, session_id: str) -> int:
    return (await db.scalar(select(func.max(Summary.version)).where(Summary.session_id == session_id)) or 0) + 1


async def store(
    db: AsyncSession,
    session_id: str,
    user_id: str,
    template_id: str | None,
    result: SummaryResult,
    extraction: Extraction | None = None,
) -> tuple[Summary, list[str]]:
    """Save ``result`` as the session's next summary version and record its ``summary.ready``
    webhook deliveries, with the session's ``extraction`` when there is one (the caller commits,
    then queues them)."""
    version = await next_version(db, session_id)
    stored = Summary(
        session_id=session_id,
        version=version,
        template_id=template_id,
        model=result.model,
        content=result.content.model_dump(),
        markdown=to_markdown(result.content),
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
    )
    db.add(stored)
    await db.flush()
    ready = SummaryReady(session_id=session_id, summary_id=stored.id, version=version, model=stored.model)
    if extraction is not None:  # set only then: an unset field is left out of the payload
        ready.extraction_id, ready.extraction_version = extraction.id, extraction.version
        ready.extraction = extraction.data
    deliveries = await emit(db, user_id, ready)
    return stored, deliveries


async def store_edit(db: AsyncSession, base: Summary, markdown: str) -> Summary:
    """Save a user's edited Markdown of ``base`` as the session's next summary version; ``base``
    is kept. No model ran: ``model`` is ``edited-by-user``, tokens and cost are zero. The edited
    text replaces the structured content (so the JSON export shows what the user kept, not the
    points they removed); ``edited_from`` names the version it came from, whose structure stays.
    No ``summary.ready`` webhook: that event says a model produced a summary (the caller commits)."""
    content = SummaryContent(
        title=str(base.content.get("title") or ""), summary=markdown, language=base.content.get("language")
    ).model_dump()
    content["edited_from"] = {"summary_id": base.id, "version": base.version, "model": base.model}
    stored = Summary(
        session_id=base.session_id,
        version=await next_version(db, base.session_id),
        template_id=base.template_id,
        model=EDITED,
        content=content,
        markdown=markdown,
    )
    db.add(stored)
    await db.flush()
    return stored
