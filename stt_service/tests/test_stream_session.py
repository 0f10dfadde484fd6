"""The live stream's finals as people read them, in process: a fragment (a word or two) waits for
its speaker and, when they go on, the utterance continues (one final, the fragment's segment id);
when they do not, it is final alone; a flush ends the wait at once. The VAD's decisions are
scripted and the model answers by clip length, so only the session's own rules are under test."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from shared.contracts.stt import StreamEvent, StreamFinal, StreamPartial
from shared.vad import SAMPLE_RATE
from stt_service.engines.base import Clip, ClipResult, ClipSegment
from stt_service.languages import LanguageRequest
from stt_service.scheduler import Priority, SchedulerMetrics
from stt_service.settings import STTSettings
from stt_service.streaming import StreamSession

pytestmark = [pytest.mark.unit]
S = SAMPLE_RATE  # samples per second


class Model:
    """Answers what was "said" in a clip by its length: up to 1.5 s, the two words of a fragment."""

    def __init__(self) -> None:
        self.metrics = SchedulerMetrics(CollectorRegistry())
        self.depth = 1  # never idle: no early decodes, so every final is decoded at its end
        self.finals: list[float] = []  # seconds of audio in each final's clip

    async def transcribe(self, clips: list[Clip], priority: Priority) -> list[ClipResult]:
        seconds = clips[0].audio.size / S
        if priority is Priority.final:
            self.finals.append(seconds)
        text = "And so" if seconds <= 1.5 else "And so, my fellow Americans, ask not."
        return [ClipResult("en", [ClipSegment(0, int(seconds * 1000), text)])]


class ScriptedVad:
    """The endpointer's events at given sample positions."""

    def __init__(self, script: dict[int, list[tuple[str, int]]]) -> None:
        self.script, self.position, self.in_speech, self.paused = script, 0, False, False

    def feed(self, audio: np.ndarray) -> list[tuple[str, int]]:
        self.position += audio.size
        events = self.script.pop(self.position, [])
        for kind, _sample in events:
            self.in_speech = kind in ("start", "resume") or (self.in_speech and kind == "pause")
        return events

    def flush(self) -> list[tuple[str, int]]:
        return []


async def run(
    script: dict[int, list[tuple[str, int]]], seconds: float, merge_ms: int = 400, flush_at: float | None = None
) -> tuple[list[StreamFinal], list[StreamPartial], Model]:
    model, sent = Model(), list[StreamEvent]()

    async def send(event: StreamEvent) -> None:
        sent.append(event)

    settings = STTSettings(stt_final_merge_ms=merge_ms, stt_partial_interval_ms=500)
    session = StreamSession(model, settings, LanguageRequest("en", None), stream_id="t", offset_ms=0, send=send)  # type: ignore[arg-type]
    session._endpointer = ScriptedVad(script)  # type: ignore[assignment]
    step = S // 10  # 100 ms a feed
    for n in range(int(seconds * 10)):
        await session.feed(np.zeros(step, np.float32))
        await asyncio.sleep(0.03 if n % 2 else 0)  # the decodes and timers run between feeds
        if flush_at is not None and abs((n + 1) / 10 - flush_at) < 1e-6:
            session.flush()
    await asyncio.sleep(0.2)
    finals = [e for e in sent if isinstance(e, StreamFinal)]
    return finals, [e for e in sent if isinstance(e, StreamPartial)], model


async def test_a_fragment_followed_by_more_speech_becomes_one_final() -> None:
    # "And so" 0-1.0 s, endpoint at 1.5 s; speech again at 1.7 s (within the wait), to 4.0 s.
    script = {
        int(0.1 * S): [("start", 0)],
        int(1.5 * S): [("end", S)],
        int(1.7 * S): [("start", int(1.6 * S))],
        int(4.5 * S): [("end", 4 * S)],
    }
    finals, partials, model = await run(script, 6.0)
    assert [(f.segment_id, f.start_ms, f.end_ms, f.text) for f in finals] == [
        ("t-00000", 0, 4000, "And so, my fellow Americans, ask not.")
    ]
    # The partials before and after the merge are one caption, replaced in place by the final.
    assert partials and {p.segment_id for p in partials} == {"t-00000"}, partials
    assert partials[-1].text == finals[0].text
    assert model.finals == [4.0]  # one decode of the whole utterance
    assert model.metrics.merged_finals._value.get() == 1


async def test_a_fragment_that_was_all_the_speaker_said_is_final_after_the_wait() -> None:
    # Speech again at 2.2 s: after the wait (endpoint at 1.5 s + 0.4 s), so a new utterance.
    script = {
        int(0.1 * S): [("start", 0)],
        int(1.5 * S): [("end", S)],
        int(2.2 * S): [("start", int(2.1 * S))],
        int(4.5 * S): [("end", 4 * S)],
    }
    finals, _partials, model = await run(script, 5.0)
    assert [(f.segment_id, f.start_ms, f.text) for f in finals] == [
        ("t-00000", 0, "And so"),
        ("t-00001", 2100, "And so, my fellow Americans, ask not."),
    ]
    assert model.metrics.merged_finals._value.get() == 0


async def test_a_whole_sentence_is_never_held_and_a_flush_sends_a_held_fragment() -> None:
    script = {
        int(0.1 * S): [("start", 0)],
        int(3.5 * S): [("end", 3 * S)],  # a sentence: sent at once
        int(3.7 * S): [("start", int(3.6 * S))],
        int(5.0 * S): [("end", int(4.6 * S))],  # a fragment, flushed before its wait is over
    }
    finals, _partials, _model = await run(script, 5.6, merge_ms=5000, flush_at=5.2)
    assert [(f.segment_id, f.text) for f in finals] == [
        ("t-00000", "And so, my fellow Americans, ask not."),
        ("t-00001", "And so"),
    ]
