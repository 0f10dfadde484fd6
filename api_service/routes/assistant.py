"""Questions about one meeting or across the user's meetings, and the catch-up brief; live
sessions are answered from the transcript so far. The logic is in ``api_service.assistant``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api_service import assistant, transcripts, usage
from api_service.db.models import SessionStatus
from api_service.deps import (
    CurrentUserDep,
    DbDep,
    DispatcherDep,
    LlmDep,
    QuotasDep,
    RedisDep,
    before_model_call,
    meeting_reader,
    release,
)
from api_service.llm import LLMConfig
from api_service.passages import Passage
from api_service.quotas import Quotas
from api_service.schemas.assistant import AskAcrossRequest, AskAnswer, AskRequest, Brief

router = APIRouter(tags=["assistant"])

SSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer; with `Accept: text/event-stream`, server-sent events: `delta` events "
        "(`{text}`, pieces of the answer as it is written), then one `done` event (the whole answer as JSON, "
        "with its citations and model), or an `error` event (`{detail}`) when nothing can be given.",
        "content": {"text/event-stream": {}},
    },
    503: {"description": "the model failed and no passage matches the question"},
}


def wants_events(accept: str | None) -> bool:
    return bool(accept) and "text/event-stream" in (accept or "").lower()


async def _answer(
    llm: LLMConfig | None, q: assistant.Question, events: bool, quotas: Quotas, user_id: str, session: AsyncSession
) -> AskAnswer | StreamingResponse:
    if not events:
        try:
            return await assistant.reply(llm, q, quotas, user_id, session)
        except assistant.ModelFailed as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "30"}) from None
    if (direct := assistant.without_model(llm, q)) is not None:
        return _events_of(direct)
    assert llm is not None
    await before_model_call(quotas, user_id, session)  # no connection is held while the model writes
    return StreamingResponse(
        _stream(llm, q, session, user_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _event(kind: str, data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _stream(llm: LLMConfig, q: assistant.Question, session: AsyncSession, user_id: str) -> AsyncIterator[str]:
    """The events; the stream's usage is recorded once it has ended (a short write then)."""
    try:
        async with usage.metered(session, user_id, q.session_id, "ask"):
            async for item in assistant.answer_stream(llm, q):
                if isinstance(item, AskAnswer):
                    yield _event("done", item.model_dump(mode="json"))
                else:
                    yield _event("delta", {"text": item})
        await session.commit()
    except assistant.ModelFailed as exc:
        yield _event("error", {"detail": str(exc), "status": 503})


def _events_of(answer: AskAnswer) -> StreamingResponse:
    async def one() -> AsyncIterator[str]:
        yield _event("delta", {"text": answer.answer})
        yield _event("done", answer.model_dump(mode="json"))

    return StreamingResponse(one(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.post("/api/v1/sessions/{session_id}/ask", response_model=AskAnswer, responses=SSE)
async def ask(
    session_id: str,
    body: AskRequest,
    user: CurrentUserDep,
    session: DbDep,
    llm: LlmDep,
    quotas: QuotasDep,
    dispatcher: DispatcherDep,
    accept: Annotated[str | None, Header()] = None,
) -> AskAnswer | StreamingResponse:
    """Ask about one meeting, finished or still live (the transcript so far). The answer cites
    the segments it rests on; ``[k]`` in it is the k-th citation. Someone invited may ask while
    they are in the live meeting (on the owner's quota, as in the meeting's chat)."""
    row = await meeting_reader(session, session_id, user.id, dispatcher)
    q = await assistant.question_about(session, llm, row, body.question)
    return await _answer(llm, q, wants_events(accept), quotas, row.user_id, session)


@router.post("/api/v1/ask", response_model=AskAnswer, responses=SSE)
async def ask_across(
    body: AskAcrossRequest,
    user: CurrentUserDep,
    session: DbDep,
    llm: LlmDep,
    quotas: QuotasDep,
    accept: Annotated[str | None, Header()] = None,
) -> AskAnswer | StreamingResponse:
    """Ask across your own meetings (or those of ``session_ids``, which must all be yours: one
    that is not answers 404, as a missing one does). Passages are found with the transcripts'
    full-text index; citations name their session."""
    q = await assistant.across_meetings(session, llm, user.id, body.question, body.session_ids)
    return await _answer(llm, q, wants_events(accept), quotas, user.id, session)


@router.get("/api/v1/sessions/{session_id}/brief", response_model=Brief)
async def brief(
    session_id: str,
    user: CurrentUserDep,
    session: DbDep,
    llm: LlmDep,
    quotas: QuotasDep,
    redis: RedisDep,
    dispatcher: DispatcherDep,
    since_ms: Annotated[int, Query(ge=0, le=10**12, description="catch up from this point of the meeting (ms)")] = 0,
) -> Brief:
    """A catch-up for someone joining late: what was discussed, decided and left open since
    ``since_ms``, with citations. A model's brief is cached until the transcript changes. Someone
    invited may ask for it while they are in the live meeting (on the owner's quota)."""
    row = await meeting_reader(session, session_id, user.id, dispatcher)
    version = await transcripts.transcript_state(session, row.id)
    key = assistant.brief_cache_key(llm, row.id, since_ms, version) if llm else None
    if key and (hit := await assistant.cached_brief(redis, key)) is not None:
        return hit
    _version, segments = await transcripts.read_segments(session, row.id)
    passages = [Passage.of(row.id, row.title, s) for s in segments if s["end_ms"] > since_ms or s["start_ms"] >= since_ms]
    live = row.status == SessionStatus.live
    if not passages:
        return assistant.extractive_brief(
            row.id, since_ms, [], version, "Nothing has been transcribed in this part of the meeting yet."
        )
    if llm is None:
        note = "No language model is configured: these are sentences taken from the transcript."
        return assistant.extractive_brief(row.id, since_ms, passages, version, note)
    await quotas.charge(row.user_id, "summaries")
    language = row.language or segments[0].get("language")
    await release(session)  # no connection is held while the model writes
    async with usage.metered(session, row.user_id, row.id, "brief"):
        made = await assistant.model_brief(llm, row.id, since_ms, passages, version, language, live)
    await session.commit()
    if made.model and key:
        await assistant.cache_brief(redis, key, made)
    return made
