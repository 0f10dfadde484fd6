"""A session's structured extraction (its template's schema filled from the transcript) and its
domain classification. The logic is in ``api_service.extraction``, ``api_service.classification``
and ``api_service.domain.outputs``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api_service import extraction, transcripts, usage
from api_service.deps import (
    CurrentUserDep,
    DbDep,
    LlmDep,
    QuotasDep,
    SessionmakerDep,
    before_model_call,
    not_found,
    owned_session,
    readable_template,
)
from api_service.domain.outputs import classify_session
from api_service.llm import LLMConfig, LLMUnavailable
from api_service.schemas.extraction import ClassificationOut, ExtractionOut, ExtractionRequest

router = APIRouter(prefix="/api/v1/sessions", tags=["extraction"])

NO_MODEL = "No language model is configured, so {what}: set LLM_MODEL (or LLM_CONFIG_FILE). Nothing is guessed without one."


def _model(llm: LLMConfig | None, what: str) -> LLMConfig:
    if llm is None:
        raise HTTPException(status.HTTP_409_CONFLICT, NO_MODEL.format(what=what))
    return llm


def _unavailable(exc: LLMUnavailable) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "30"})


@router.get("/{session_id}/extraction", response_model=ExtractionOut)
async def latest_extraction(session_id: str, user: CurrentUserDep, session: DbDep) -> ExtractionOut:
    """The latest extraction (404 while the session has none)."""
    await owned_session(session, session_id, user.id)
    found = await extraction.latest(session, session_id)
    if found is None:
        raise not_found("extraction")
    return ExtractionOut.model_validate(found)


@router.get("/{session_id}/extractions", response_model=list[ExtractionOut])
async def extraction_versions(session_id: str, user: CurrentUserDep, session: DbDep) -> list[ExtractionOut]:
    """Every extraction of the session, the latest first."""
    await owned_session(session, session_id, user.id)
    return [ExtractionOut.model_validate(r) for r in await extraction.versions(session, session_id)]


@router.post("/{session_id}/extraction", response_model=ExtractionOut, status_code=status.HTTP_201_CREATED)
async def run_extraction(
    session_id: str, body: ExtractionRequest, user: CurrentUserDep, session: DbDep, llm: LlmDep, quotas: QuotasDep
) -> ExtractionOut:
    """Extract the template's fields now (again: a new version). 409 when there is no template
    with a schema, no transcript or no model; 502 when the model's answer was not valid against
    the schema twice (nothing is stored); 503 when every model failed."""
    row = await owned_session(session, session_id, user.id)
    template_id = body.template_id or row.template_id
    if not template_id:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "The session has no template: choose one (PATCH template_id) or let POST …/classify pick one.",
        )
    template = await readable_template(session, template_id, user.id)
    schema = template.extraction_schema
    if not schema:
        raise HTTPException(status.HTTP_409_CONFLICT, f'The template "{template.name}" has no extraction schema.')
    model = _model(llm, "fields cannot be extracted")
    _version, segments = await transcripts.read_segments(session, row.id)
    if not segments:
        raise HTTPException(status.HTTP_409_CONFLICT, "The session has no transcript yet.")
    language = row.language or segments[0].get("language")
    await before_model_call(quotas, user.id, session)  # no connection is held while the model writes
    try:
        async with usage.metered(session, user.id, row.id, "extraction"):
            result = await extraction.extract(model, segments, language, schema)
    except LLMUnavailable as exc:
        raise _unavailable(exc) from None
    except extraction.ExtractionFailed as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None
    stored = await extraction.store(session, row.id, template.id, schema, result)
    await session.commit()
    return ExtractionOut.model_validate(stored)


@router.post("/{session_id}/classify", response_model=ClassificationOut)
async def classify(
    session_id: str, user: CurrentUserDep, session: DbDep, sessions: SessionmakerDep, llm: LlmDep, quotas: QuotasDep
) -> ClassificationOut:
    """Detect the meeting's domain and category from its transcript, among the labels of the
    templates you may use (and other), and record it with its confidence. The label's template
    becomes the session's unless you chose one (PATCH template_id chooses, and overrides)."""
    row = await owned_session(session, session_id, user.id)
    model = _model(llm, "the meeting's domain cannot be detected; choose a template yourself")
    _version, segments = await transcripts.read_segments(session, row.id)
    if not segments:
        raise HTTPException(status.HTTP_409_CONFLICT, "The session has no transcript yet.")
    await before_model_call(quotas, user.id, session)
    try:
        found = await classify_session(sessions, model, row.id)
    except LLMUnavailable as exc:
        raise _unavailable(exc) from None
    if found is None:
        raise not_found()  # deleted meanwhile
    await session.refresh(row)
    record = found.record()
    return ClassificationOut(
        **record,
        applied=found.template is not None and row.template_id == found.template.id and row.template_chosen_by == "classifier",
        labels=[*found.labels, "other"],
    )
