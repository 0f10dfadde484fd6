"""HTTP endpoints: the seed's /transcribe (JSON float arrays or binary bodies) and the
OpenAI-compatible /v1/audio/transcriptions."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from shared.audio import (
    AudioDecodeError,
    AudioLimits,
    check_declared_size,
    decode_audio,
    empty,
    pcm16_to_float,
    resample,
    too_long,
)
from shared.contracts.stt import OpenAITranscription, TranscribeResponse
from shared.contracts.vocabulary import MAX_TERM_CHARS, MAX_TERMS, VocabularyError, clean_vocabulary
from stt_service import formats
from stt_service.languages import LanguageRequest, UnsupportedLanguage, parse_language
from stt_service.scheduler import Overloaded, Priority
from stt_service.transcriber import Transcription

router = APIRouter(tags=["transcription"])


class SeedAudioData(BaseModel):
    sample_rate: int = Field(ge=8000, le=192_000)
    audio_array: list[float]
    format: str | None = None


class SeedTranscribeRequest(BaseModel):
    audio_data: SeedAudioData
    session_id: str | None = None
    language: str | None = None
    vocabulary: list[str] | None = None


def limits(request: Request) -> AudioLimits:
    return request.app.state.settings.audio_limits()


def language_for(request: Request, tag: str | None) -> LanguageRequest:
    settings = request.app.state.settings
    try:
        return parse_language(
            tag or settings.stt_default_language or None,
            supported=request.app.state.engine.languages,
            default_script=settings.stt_chinese_script,
        )
    except UnsupportedLanguage as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None


def check_length(request: Request) -> None:
    # Room for a multipart envelope around the largest file.
    check_declared_size(request.headers.get("content-length"), limits(request).max_bytes + 64 * 1024)


def vocabulary_for(terms: list[str] | None) -> tuple[str, ...]:
    try:
        return tuple(clean_vocabulary(terms or []))
    except VocabularyError as exc:
        raise HTTPException(422, str(exc)) from None


async def run(
    request: Request,
    audio: np.ndarray,
    language: LanguageRequest,
    *,
    words: bool = True,
    prompt: str | None = None,
    vocabulary: tuple[str, ...] = (),
) -> tuple[Transcription, int]:
    started = time.perf_counter()
    try:
        result = await request.app.state.transcriber.transcribe(
            audio, language, word_timestamps=words, prompt=prompt, vocabulary=vocabulary, priority=Priority.file
        )
    except Overloaded as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": str(exc.retry_after)}
        ) from None
    return result, int((time.perf_counter() - started) * 1000)


async def read_body_audio(request: Request) -> np.ndarray:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if content_type == "application/octet-stream" and "x-sample-rate" in request.headers:
        try:
            rate = int(request.headers["x-sample-rate"])
            channels = int(request.headers.get("x-channels", "1"))
        except ValueError:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "X-Sample-Rate and X-Channels must be integers") from None
        return pcm16_to_float(body, rate, channels, limits(request))
    return await asyncio.to_thread(decode_audio, body, limits(request))


@router.post("/transcribe", response_model=TranscribeResponse)
async def transcribe(
    request: Request,
    language: Annotated[str | None, Query(max_length=16)] = None,
    session_id: Annotated[str | None, Query(max_length=64)] = None,
    word_timestamps: bool = True,
    vocabulary: Annotated[
        list[str] | None,
        Query(
            description=f"a term to bias recognition toward (a name, product, jargon); repeat for up to {MAX_TERMS} "
            f"terms of at most {MAX_TERM_CHARS} characters, the most important first (or as `vocabulary` fields "
            "of a multipart body, for lists too long for a URL)"
        ),
    ] = None,
) -> TranscribeResponse:
    """Audio as the seed's JSON (`audio_data.audio_array` floats), a multipart upload
    (`audio_file` or `file`), a raw audio file body, or raw int16 PCM
    (`application/octet-stream` with `X-Sample-Rate`, optional `X-Channels`)."""
    check_length(request)
    terms = vocabulary_for(vocabulary)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            seed = SeedTranscribeRequest.model_validate_json(await request.body())
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"invalid JSON body: {exc}") from None
        samples = np.asarray(seed.audio_data.audio_array, dtype=np.float32)
        if samples.size == 0:
            raise empty()
        if not np.isfinite(samples).all():
            raise AudioDecodeError("audio_array holds values that are not numbers (NaN or infinite).")
        audio = resample(np.clip(samples, -1, 1), seed.audio_data.sample_rate)
        language, session_id = language or seed.language, session_id or seed.session_id
        terms = terms or vocabulary_for(seed.vocabulary)
    elif content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("audio_file") or form.get("file")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "file"):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "multipart body needs an `audio_file` (or `file`) part")
        audio = await asyncio.to_thread(decode_audio, upload.file, limits(request))  # type: ignore[union-attr]
        language = language or (str(form["language"]) if form.get("language") else None)
        terms = terms or vocabulary_for([term for term in form.getlist("vocabulary") if isinstance(term, str)])
    else:
        audio = await read_body_audio(request)
    if audio.size / 16000 > limits(request).max_seconds:
        raise too_long(limits(request))
    result, elapsed = await run(request, audio, language_for(request, language), words=word_timestamps, vocabulary=terms)
    return TranscribeResponse(
        text=result.text,
        language=result.language,
        duration_ms=result.duration_ms,
        processing_ms=elapsed,
        session_id=session_id,
        segments=result.segments,
    )


@router.post("/v1/audio/transcriptions", response_model=None)
async def openai_transcriptions(
    request: Request,
    file: Annotated[UploadFile, File(description="audio file")],
    model: Annotated[str, Form()] = "whisper-1",
    language: Annotated[str | None, Form(max_length=16)] = None,
    prompt: Annotated[str | None, Form(max_length=2000)] = None,
    response_format: Annotated[Literal["json", "text", "srt", "vtt", "verbose_json"], Form()] = "json",
    temperature: Annotated[float, Form(ge=0, le=1)] = 0.0,
    timestamp_granularities: Annotated[list[Literal["word", "segment"]] | None, Form(alias="timestamp_granularities[]")] = None,
) -> Response | OpenAITranscription:
    """OpenAI-compatible transcription (any `model` value is served by the loaded engine)."""
    check_length(request)
    audio = await asyncio.to_thread(decode_audio, file.file, limits(request))
    granularities = set(timestamp_granularities or ["segment"])
    result, _ = await run(request, audio, language_for(request, language), words="word" in granularities, prompt=prompt)
    if response_format == "text":
        return PlainTextResponse(result.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(formats.to_srt(result), media_type="application/x-subrip")
    if response_format == "vtt":
        return PlainTextResponse(formats.to_vtt(result), media_type="text/vtt")
    if response_format == "verbose_json":
        verbose = formats.to_verbose_json(result, segments="segment" in granularities, words="word" in granularities)
        return JSONResponse(
            verbose.model_dump(exclude={name for name in ("segments", "words") if getattr(verbose, name) is None})
        )
    return OpenAITranscription(text=result.text)
