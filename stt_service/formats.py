"""OpenAI-compatible response bodies for /v1/audio/transcriptions: json, text, srt, vtt,
verbose_json (with segment and/or word timestamps)."""

from __future__ import annotations

from shared.contracts.stt import OpenAISegment, OpenAIVerboseTranscription, OpenAIWord
from shared.timecode import subtitle_time
from stt_service.transcriber import Transcription

LANGUAGE_NAMES = {
    "en": "english",
    "zh": "chinese",
    "de": "german",
    "es": "spanish",
    "ru": "russian",
    "ko": "korean",
    "fr": "french",
    "ja": "japanese",
    "pt": "portuguese",
    "tr": "turkish",
    "pl": "polish",
    "it": "italian",
    "nl": "dutch",
    "ar": "arabic",
    "sv": "swedish",
    "hi": "hindi",
    "yue": "cantonese",
    "vi": "vietnamese",
    "uk": "ukrainian",
    "id": "indonesian",
}


def to_srt(result: Transcription) -> str:
    blocks = [
        f"{n}\n{subtitle_time(s.start_ms, ',')} --> {subtitle_time(s.end_ms, ',')}\n{s.text}\n"
        for n, s in enumerate(result.segments, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(result: Transcription) -> str:
    cues = [f"{subtitle_time(s.start_ms, '.')} --> {subtitle_time(s.end_ms, '.')}\n{s.text}\n" for s in result.segments]
    return "WEBVTT\n\n" + "\n".join(cues)


def to_verbose_json(result: Transcription, *, segments: bool = True, words: bool = False) -> OpenAIVerboseTranscription:
    return OpenAIVerboseTranscription(
        language=LANGUAGE_NAMES.get(result.language or "", result.language),
        duration=result.duration_ms / 1000,
        text=result.text,
        segments=[
            OpenAISegment(id=n, start=s.start_ms / 1000, end=s.end_ms / 1000, text=s.text) for n, s in enumerate(result.segments)
        ]
        if segments
        else None,
        words=[
            OpenAIWord(word=w.text.strip(), start=w.start_ms / 1000, end=w.end_ms / 1000)
            for s in result.segments
            for w in s.words
        ]
        if words
        else None,
    )
