"""What a finished transcript gets, in the batch worker (after an upload's transcription and after
a live meeting): the domain classification when the session has no template and a model is
configured (the chosen template is then the session's), the template's summary, and its extraction
when the template has a schema and a model is configured. One ``summary.ready`` webhook carries the
summary's ids and the extraction. A stage that fails does not stop the others or fail the
transcript: its reason comes back to be noted on the job. No database connection is held while a
model writes: each read and write is its own short transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api_service import classification, extraction, summaries, usage
from api_service.db.models import MeetingSession, Template
from api_service.llm import LLMConfig, LLMUnavailable
from api_service.transcripts import read_segments


@dataclass
class Outputs:
    deliveries: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def classify_session(
    sessions: async_sessionmaker[AsyncSession], llm: LLMConfig, session_id: str
) -> classification.Classification | None:
    """Classify the session (None when it or its transcript is gone or empty) and record the
    result; the chosen template becomes the session's unless the user chose one (a template the
    session was made with, or one set with PATCH)."""
    async with sessions() as db:
        row = await db.get(MeetingSession, session_id)
        if row is None:
            return None
        _version, segments = await read_segments(db, session_id)
        templates = await classification.candidates(db, row.user_id)
        user_id, language = row.user_id, row.language or (segments[0].get("language") if segments else None)
    if not segments:
        return None
    async with sessions() as db:
        async with usage.metered(db, user_id, session_id, "classification"):
            found = await classification.classify(llm, templates, segments, language)
        row = await db.get(MeetingSession, session_id)
        if row is not None:
            row.classification = found.record()
            if row.template_id is None or row.template_chosen_by == "classifier":
                row.template_id = found.template.id if found.template else None
                row.template_chosen_by = "classifier" if found.template else None
        await db.commit()
    return found


async def after_transcript(
    sessions: async_sessionmaker[AsyncSession],
    llm: LLMConfig | None,
    session_id: str,
    starting: Callable[[], Awaitable[object]] | None = None,
) -> Outputs:
    """The module's steps for ``session_id``; ``starting`` is awaited first when there is
    something to do (the job shows its summarising stage then)."""
    out = Outputs()
    async with sessions() as db:
        row = await db.get(MeetingSession, session_id)
        if row is None:
            return out
        needs_template = row.template_id is None
    if needs_template and llm is None:
        return out  # nothing to classify with, and no template to summarise with
    if starting is not None:
        await starting()
    if needs_template:
        assert llm is not None
        try:
            await classify_session(sessions, llm, session_id)
        except LLMUnavailable as exc:
            out.problems.append(f"classification failed: {exc}")
            return out
    async with sessions() as db:
        row = await db.get(MeetingSession, session_id)
        template = await db.get(Template, row.template_id) if row and row.template_id else None
        if row is None or template is None:
            return out
        _version, segments = await read_segments(db, session_id)
        user_id, language = row.user_id, row.language
    if not segments:
        return out
    result: summaries.SummaryResult | None = None
    try:
        async with sessions() as db:
            async with usage.metered(db, user_id, session_id, "summary"):
                result = await summaries.summarize(llm, segments, language, template.sections, template.template_content)
            await db.commit()
    except (LLMUnavailable, ValueError) as exc:
        out.problems.append(f"summary failed: {exc}")
    extracted: extraction.ExtractionResult | None = None
    schema = template.extraction_schema
    if llm is not None and schema:
        try:
            async with sessions() as db:
                async with usage.metered(db, user_id, session_id, "extraction"):
                    extracted = await extraction.extract(llm, segments, language, schema)
                await db.commit()
        except (LLMUnavailable, ValueError) as exc:
            out.problems.append(f"extraction failed: {exc}")
    async with sessions() as db:
        stored = await extraction.store(db, session_id, template.id, schema, extracted) if extracted and schema else None
        if result is not None:
            _summary, out.deliveries = await summaries.store(db, session_id, user_id, template.id, result, stored)
        await db.commit()
    return out
