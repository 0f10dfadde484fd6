"""Whole-request transcription on top of the scheduler: VAD → ≤ 30 s clips → batched inference →
segments with times from the start of the audio, in the script the caller asked for."""

from __future__ import annotations

import asyncio
import bisect
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from shared.contracts.transcript import Segment, Word
from shared.vad import SAMPLE_RATE, clip_spans, speech_regions
from stt_service.engines.base import Clip, ClipResult
from stt_service.languages import LanguageRequest, convert_chinese
from stt_service.scheduler import Priority, Scheduler


@dataclass
class Transcription:
    language: str | None
    duration_ms: int
    segments: list[Segment] = field(default_factory=list)

    @property
    def text(self) -> str:
        joiner = "" if self.language in {"zh", "ja", "yue"} else " "
        return joiner.join(s.text for s in self.segments).strip()


def to_segments(
    result: ClipResult, offset_ms: int, conversion: str | None, id_prefix: str, first_index: int = 0
) -> list[Segment]:
    chinese = result.language in {"zh", "yue"}
    segments = []
    for n, seg in enumerate(result.segments, start=first_index):
        text = convert_chinese(seg.text, conversion) if chinese else seg.text
        words = [
            Word(
                start_ms=offset_ms + w.start_ms,
                end_ms=offset_ms + w.end_ms,
                prob=w.prob,
                text=convert_chinese(w.text, conversion) if chinese else w.text,
            )
            for w in seg.words
        ]
        segments.append(
            Segment(
                id=f"{id_prefix}{n:04d}",
                start_ms=offset_ms + seg.start_ms,
                end_ms=offset_ms + seg.end_ms,
                text=text.strip(),
                language=result.language,
                words=words,
                is_final=True,
            )
        )
    return segments


def snap_to_speech(segments: list[Segment], regions_ms: list[tuple[int, int]]) -> None:
    """Whisper's attention-based word times drift into pauses (a word after a long pause often
    starts early). A time inside a pause is moved to the edge of the speech the word belongs to."""
    starts = [r[0] for r in regions_ms]
    for segment in segments:
        for word in segment.words:
            i = bisect.bisect_right(starts, word.start_ms) - 1
            in_pause = i < 0 or word.start_ms >= regions_ms[i][1]
            if in_pause and i + 1 < len(regions_ms) and word.end_ms > regions_ms[i + 1][0]:
                word.start_ms = regions_ms[i + 1][0]
            j = bisect.bisect_right(starts, word.end_ms) - 1
            if j >= 0 and regions_ms[j][1] < word.end_ms and j >= bisect.bisect_right(starts, word.start_ms) - 1:
                word.end_ms = max(word.start_ms, regions_ms[j][1])
        if segment.words:
            segment.start_ms, segment.end_ms = segment.words[0].start_ms, max(w.end_ms for w in segment.words)


class Transcriber:
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    async def transcribe(
        self,
        audio: np.ndarray,
        language: LanguageRequest,
        *,
        word_timestamps: bool = True,
        prompt: str | None = None,
        vocabulary: tuple[str, ...] = (),
        priority: Priority = Priority.file,
    ) -> Transcription:
        duration_ms = audio.size * 1000 // SAMPLE_RATE
        regions = await asyncio.to_thread(speech_regions, audio)
        spans = clip_spans(regions, audio)
        if not spans:
            return Transcription(language=language.code, duration_ms=duration_ms)

        def clip(span: tuple[int, int], code: str | None) -> Clip:
            return Clip(
                audio[span[0] : span[1]], language=code, word_timestamps=word_timestamps, prompt=prompt, vocabulary=vocabulary
            )

        code = language.code
        results: list[ClipResult] = []
        if code is None and len(spans) > 1:
            # Detect once on the first clip, then hold the whole file to that language.
            results = await self.scheduler.transcribe([clip(spans[0], None)], priority)
            code = results[0].language
        results += await self.scheduler.transcribe([clip(s, code) for s in spans[len(results) :]], priority)

        segments: list[Segment] = []
        for span, result in zip(spans, results, strict=True):
            segments += to_segments(result, span[0] * 1000 // SAMPLE_RATE, language.chinese_conversion, "seg-", len(segments))
        snap_to_speech(segments, [(s * 1000 // SAMPLE_RATE, e * 1000 // SAMPLE_RATE) for s, e in regions])
        weights = Counter({r.language: 0 for r in results})
        for span, result in zip(spans, results, strict=True):
            weights[result.language] += span[1] - span[0]
        return Transcription(language=weights.most_common(1)[0][0], duration_ms=duration_ms, segments=segments)
