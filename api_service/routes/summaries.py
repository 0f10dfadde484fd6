"""Summaries and titles: the seed's text routes and per-session, versioned summaries."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.exc import IntegrityError

from api_service import extraction, summaries, transcripts, usage
from api_service.db.models import Summary
from api_service.deps import (
    CurrentUserDep,
    DbDep,
    LlmDep,
    QuotasDep,
    before_model_call,
    not_found,
    owned_session,
    readable_template,
)
from api_service.jobs.deliveries import queue_deliveries
from api_service.llm import LLMConfig, LLMUnavailable
from api_service.schemas.summaries import SessionSummaryRequest, SummarizeText, SummaryEdit, SummaryOut, TitleRequest

router = APIRouter(tags=["summaries"])


async def _run(
    llm: LLMConfig | None, segments: list[dict[str, Any]], language: str | None, template: Any
) -> summaries.SummaryResult:
    try:
        return await summaries.summarize(
            llm,
            segments,
            language,
            template.sections if template else None,
            template.template_content if template else None,
        )
    except LLMUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "30"}) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None


@router.post("/api/v1/summarize", response_model=SummaryOut)
async def summarize_text(body: SummarizeText, quotas: QuotasDep, user: CurrentUserDep, session: DbDep, llm: LlmDep) -> SummaryOut:
    """The seed's route: summarise plain text (not stored)."""
    template = await readable_template(session, body.template_id, user.id) if body.template_id else None
    lines = [line for line in body.transcription_text.splitlines() if line.strip()]
    segments = [{"segment_id": f"l{n}", "start_ms": 0, "speaker": None, "text": line} for n, line in enumerate(lines)]
    await before_model_call(quotas, user.id, session)
    async with usage.metered(session, user.id, None, "summary"):
        result = await _run(llm, segments, body.language, template)
    await session.commit()
    return SummaryOut(
        template_id=body.template_id,
        model=result.model,
        content=result.content.model_dump(),
        markdown=summaries.to_markdown(result.content),
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
    )


@router.post("/api/v1/generate-title")
async def generate_title(
    body: TitleRequest, quotas: QuotasDep, user: CurrentUserDep, session: DbDep, llm: LlmDep
) -> dict[str, str]:
    text, language = body.summary_text or body.transcription_text or "", None
    if body.session_id:
        row = await owned_session(session, body.session_id, user.id)
        _version, segments = await transcripts.read_segments(session, row.id)
        text, language = text or "\n".join(s["text"] for s in segments), row.language
    if not text.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "give transcription_text, summary_text or session_id")
    await before_model_call(quotas, user.id, session)
    try:
        async with usage.metered(session, user.id, body.session_id, "title"):
            title, model = await summaries.generate_title(llm, text, language)
    except LLMUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "30"}) from None
    await session.commit()  # the usage rows; the title is only proposed: it changes when the user PATCHes the session
    return {"title": title, "model": model}


@router.post("/api/v1/sessions/{session_id}/summaries", response_model=SummaryOut, status_code=status.HTTP_201_CREATED)
async def summarize_session(
    session_id: str, body: SessionSummaryRequest, quotas: QuotasDep, user: CurrentUserDep, session: DbDep, llm: LlmDep
) -> SummaryOut:
    row = await owned_session(session, session_id, user.id)
    template_id = body.template_id or row.template_id
    template = await readable_template(session, template_id, user.id) if template_id else None
    _version, segments = await transcripts.read_segments(session, row.id)
    if not segments:
        raise HTTPException(status.HTTP_409_CONFLICT, "the session has no transcript yet")
    await before_model_call(quotas, user.id, session)
    async with usage.metered(session, user.id, row.id, "summary"):
        result = await _run(llm, segments, row.language or segments[0].get("language"), template)
    latest = await extraction.latest(session, row.id)
    stored, deliveries = await summaries.store(session, row.id, user.id, template_id, result, latest)
    await session.commit()
    await asyncio.to_thread(queue_deliveries, deliveries)
    return SummaryOut.model_validate(stored)


@router.get("/api/v1/sessions/{session_id}/summaries", response_model=list[SummaryOut])
async def list_summaries(session_id: str, user: CurrentUserDep, session: DbDep) -> list[SummaryOut]:
    await owned_session(session, session_id, user.id)
    return [SummaryOut.model_validate(r) for r in await summaries.versions(session, session_id)]


@router.patch("/api/v1/sessions/{session_id}/summaries/{summary_id}", response_model=SummaryOut)
async def edit_summary(session_id: str, summary_id: str, body: SummaryEdit, user: CurrentUserDep, session: DbDep) -> SummaryOut:
    """Store an edited summary as the session's next version (the edited one is kept); an unchanged
    text stores nothing and answers the summary as it is. No ``summary.ready`` webhook fires."""
    await owned_session(session, session_id, user.id)
    base = await session.get(Summary, summary_id)
    if base is None or base.session_id != session_id:
        raise not_found("summary")
    if body.markdown == base.markdown:
        return SummaryOut.model_validate(base)
    try:
        stored = await summaries.store_edit(session, base, body.markdown)
        await session.commit()
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, "another summary version was saved at the same time; try again") from None
    return SummaryOut.model_validate(stored)
