"""HTTP endpoints: /diarize (binary body), /diarize-file (multipart, the seed's form) and /embed."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile, status
from pydantic import Field

from diarization_service.audio_store import pcm_body, spool_body
from diarization_service.engines.base import ArrayAudio, AudioSource, Diarization, SpeakerHints
from shared.audio import AudioLimits, check_declared_size, decode_audio, pcm16_to_float
from shared.contracts.diarization import DiarizationResponse, EmbedResponse, SpeakerTotal, Turn
from shared.limiter import Overloaded
from shared.pcm_file import PcmFile, decode_to_file
from shared.vad import SAMPLE_RATE

router = APIRouter(tags=["diarization"])
Count = Annotated[int | None, Field(ge=1, le=32)]


def limits(request: Request) -> AudioLimits:
    return request.app.state.settings.audio_limits()


def hints_of(num: int | None, low: int | None, high: int | None) -> SpeakerHints:
    if low and high and low > high:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "min_speakers is larger than max_speakers")
    if num and ((low and num < low) or (high and num > high)):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "num_speakers is outside min_speakers..max_speakers")
    return SpeakerHints(num, low, high)


def pcm_format(request: Request) -> tuple[int, int] | None:
    """(sample rate, channels) when the body is raw int16 PCM (``X-Sample-Rate``), else None."""
    if "x-sample-rate" not in request.headers:
        return None
    try:
        return int(request.headers["x-sample-rate"]), int(request.headers.get("x-channels", "1"))
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "X-Sample-Rate and X-Channels must be integers") from None


async def body_audio(request: Request) -> np.ndarray:
    """The whole body's audio in memory (for /embed's short clips)."""
    check_declared_size(request.headers.get("content-length"), limits(request).max_bytes)
    pcm = pcm_format(request)
    body = await request.body()
    if pcm is not None:
        return pcm16_to_float(body, pcm[0], pcm[1], limits(request))
    return await asyncio.to_thread(decode_audio, body, limits(request))


async def body_source(request: Request) -> PcmFile | ArrayAudio:
    """The body's audio for /diarize, spooled to a file and read back in pieces: int16 PCM at
    16 kHz mono is used as sent, other PCM is converted in memory (bounded by the byte limit),
    and files are decoded frame by frame into int16."""
    pcm = pcm_format(request)
    file = await spool_body(request, limits(request).max_bytes)
    if pcm is None:
        try:
            return await asyncio.to_thread(decode_to_file, file, limits(request))
        finally:
            file.close()
    rate, channels = pcm
    if rate == SAMPLE_RATE and channels == 1:
        return pcm_body(file, limits(request))
    with file:
        file.seek(0)
        return ArrayAudio(pcm16_to_float(file.read(), rate, channels, limits(request)))


def _clamp(turns: list[Turn], duration_ms: int) -> list[Turn]:
    out = []
    for t in turns:
        start, end = max(0, t.start_ms), min(duration_ms, t.end_ms)
        if end > start:
            out.append(Turn(start, end, t.speaker))
    return sorted(out, key=lambda t: (t.start_ms, t.speaker))


def rttm(turns: list[Turn], uri: str) -> str:
    return "".join(
        f"SPEAKER {uri} 1 {t.start_ms / 1000:.3f} {(t.end_ms - t.start_ms) / 1000:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
        for t in turns
    )


async def run(
    request: Request, audio: AudioSource, hints: SpeakerHints, session_id: str | None, want_rttm: bool
) -> DiarizationResponse:
    state = request.app.state
    started = time.perf_counter()
    try:
        async with state.limiter.slot():
            result: Diarization = await state.recordings.run(state.engine.diarize, audio, hints)
    except Overloaded as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": str(exc.retry_after)}
        ) from None
    finally:
        if isinstance(audio, PcmFile):
            audio.close()
    duration_ms = audio.num_samples * 1000 // SAMPLE_RATE
    turns, exclusive = _clamp(result.turns, duration_ms), _clamp(result.exclusive, duration_ms)
    totals: dict[str, int] = {}
    for t in exclusive:
        totals[t.speaker] = totals.get(t.speaker, 0) + t.end_ms - t.start_ms
    state.audio_seconds.inc(audio.num_samples / SAMPLE_RATE)
    return DiarizationResponse(
        session_id=session_id,
        engine=state.engine.name,
        duration_ms=duration_ms,
        processing_ms=int((time.perf_counter() - started) * 1000),
        num_speakers=len({t.speaker for t in turns}),
        speakers=[SpeakerTotal(label=k, total_ms=v) for k, v in sorted(totals.items())],
        turns=turns,
        exclusive_turns=exclusive,
        rttm=rttm(turns, session_id or "audio") if want_rttm else None,
    )


@router.post("/diarize", response_model=DiarizationResponse)
async def diarize(
    request: Request,
    num_speakers: Annotated[int | None, Query(ge=1, le=32)] = None,
    min_speakers: Annotated[int | None, Query(ge=1, le=32)] = None,
    max_speakers: Annotated[int | None, Query(ge=1, le=32)] = None,
    session_id: Annotated[str | None, Query(max_length=64)] = None,
    rttm: bool = False,
) -> DiarizationResponse:
    """Audio file bytes as the body (WAV, FLAC, OGG, MP3, M4A, WebM), or int16 PCM with
    `X-Sample-Rate` (and `X-Channels`)."""
    hints = hints_of(num_speakers, min_speakers, max_speakers)
    return await run(request, await body_source(request), hints, session_id, rttm)


@router.post("/diarize-file", response_model=DiarizationResponse)
async def diarize_file(
    request: Request,
    audio_file: Annotated[UploadFile, File()],
    session_id: Annotated[str | None, Form(max_length=64)] = None,
    num_speakers: Annotated[int | None, Form(ge=1, le=32)] = None,
    min_speakers: Annotated[int | None, Form(ge=1, le=32)] = None,
    max_speakers: Annotated[int | None, Form(ge=1, le=32)] = None,
    rttm: Annotated[bool, Form()] = False,
) -> DiarizationResponse:
    hints = hints_of(num_speakers, min_speakers, max_speakers)
    audio = await asyncio.to_thread(decode_to_file, audio_file.file, limits(request))
    return await run(request, audio, hints, session_id, rttm)


def parse_segments(raw: str | None, duration_ms: int) -> list[tuple[int, int]]:
    if not raw:
        return [(0, duration_ms)]
    try:
        segments = [(int(a), int(b)) for a, b in json.loads(raw)]
    except (ValueError, TypeError) as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, f"segments must be JSON [[start_ms, end_ms], ...]: {exc}"
        ) from None
    for a, b in segments:
        if not 0 <= a < b <= duration_ms:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY, f"segment [{a}, {b}] is outside the audio (0..{duration_ms} ms)"
            )
    if len(segments) > 512:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "at most 512 segments per request")
    return segments


@router.post("/embed", response_model=EmbedResponse)
async def embed(
    request: Request, segments: Annotated[str | None, Query(description="JSON [[start_ms, end_ms], ...]")] = None
) -> EmbedResponse:
    """Speaker embeddings (L2-normalised), one per segment of the body's audio (or one for all
    of it). Audio as in /diarize."""
    audio = await body_audio(request)
    spans = parse_segments(segments, audio.size * 1000 // SAMPLE_RATE)
    clips = [audio[a * SAMPLE_RATE // 1000 : b * SAMPLE_RATE // 1000] for a, b in spans]
    state = request.app.state
    try:
        async with state.embed_limiter.slot():
            vectors = await state.clips.run(state.engine.embed, clips)
    except Overloaded as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": str(exc.retry_after)}
        ) from None
    return EmbedResponse(
        dim=int(vectors.shape[1]),
        segments=spans,
        embeddings=np.round(vectors, 6).tolist(),
        same_speaker=state.engine.same_speaker,
    )
