"""The live stream's finals as people read them, in process: a fragment (a word or two) or a clause
that does not end a sentence waits for its speaker and, when they go on, the utterance continues
(one final, the first part's segment id); when they do not, it is final alone; a flush ends the
wait at once. A pause whose decode ends a sentence ends the utterance there, even when speech has
resumed by the time the decode comes back. The VAD's decisions are scripted and the model answers
by clip length, so only the session's own rules are under test."""

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
    """Answers what was "said" in a clip by its length: up to 1.5 s the two words of a fragment, up
    to 2.5 s a clause, then a sentence. Busy (no early decodes) unless ``idle``; a final's decode
    takes ``delay`` seconds."""

    def __init__(self, idle: bool = False, delay: float = 0.0) -> None:
        self.metrics = SchedulerMetrics(CollectorRegistry())
        self.depth = 0 if idle else 1
        self.delay = delay
        self.finals: list[float] = []  # seconds of audio in each final's clip

    async def transcribe(self, clips: list[Clip], priority: Priority) -> list[ClipResult]:
        seconds = clips[0].audio.size / S
        if priority is Priority.final:
            self.finals.append(seconds)
            await asyncio.sleep(self.delay)
        text = (
            "And so"
            if seconds <= 1.5
            else "And so, my fellow Americans"
            if seconds <= 2.5
            else "And so, my fellow Americans, ask not."
        )
        return [ClipResult("en", [ClipSegment(0, int(seconds * 1000), text)])]


class ScriptedVad:
    """The endpointer's events at given sample positions."""

    def __init__(self, script: dict[int, list[tuple[str, int]]]) -> None:
        self.script, self.position, self.in_speech, self.paused, self.utterance_start = script, 0, False, False, 0
        self.cuts: list[int] = []

    def feed(self, audio: np.ndarray) -> list[tuple[str, int]]:
        self.position += audio.size
        events = self.script.pop(self.position, [])
        for kind, _sample in events:
            self.in_speech = kind in ("start", "resume") or (self.in_speech and kind == "pause")
            self.paused = self.in_speech and kind == "pause"
        return events

    def cut(self, end: int) -> None:
        self.in_speech = self.paused = False
        self.cuts.append(end)

    def flush(self) -> list[tuple[str, int]]:
        return []


async def run(
    script: dict[int, list[tuple[str, int]]],
    seconds: float,
    merge_ms: int = 400,
    flush_at: float | None = None,
    model: Model | None = None,
    phrase_ms: int = 600,
) -> tuple[list[StreamFinal], list[StreamPartial], Model]:
    model, sent = model or Model(), list[StreamEvent]()

    async def send(event: StreamEvent) -> None:
        sent.append(event)

    settings = STTSettings(stt_final_merge_ms=merge_ms, stt_phrase_hold_ms=phrase_ms, stt_partial_interval_ms=500)
    session = StreamSession(model, settings, LanguageRequest("en", None), stream_id="t", offset_ms=0, send=send)  # type: ignore[arg-type]
    session._endpointer = ScriptedVad(script)  # type: ignore[assignment]
    step = S // 10  # 100 ms a feed
    for n in range(int(seconds * 10)):
        await session.feed(np.zeros(step, np.float32))
        await asyncio.sleep(0.03 if n % 2 else 0)  # the decodes and timers run between feeds
        if flush_at is not None and abs((n + 1) / 10 - flush_at) < 1e-6:
            session.flush()
    await asyncio.sleep(0.2 + 3 * model.delay)
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
    # The fragment was decoded at its endpoint (to learn it was one), then dropped for the whole.
    assert model.finals == [1.0, 4.0]
    assert model.metrics.merged_finals._value.get() == 1


async def test_a_fragment_that_was_all_the_speaker_said_is_final_after_the_wait() -> None:
    # Speech again at 2.2 s: after the wait (endpoint at 1.5 s + 0.4 s), so a new utterance.
    script = {
        int(0.1 * S): [("start", 0)],
        int(1.5 * S): [("end", S)],
        int(2.2 * S): [("start", int(2.1 * S))],
        int(4.5 * S): [("end", 4 * S)],
    }
    finals, _partials, model = await run(script, 6.0)
    assert [(f.segment_id, f.start_ms, f.text) for f in finals] == [
        ("t-00000", 0, "And so"),
        ("t-00001", 2100, "And so, my fellow Americans"),
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


async def test_a_clause_waits_for_the_rest_of_its_sentence_and_a_sentence_does_not() -> None:
    # "And so, my fellow Americans" 0-2.0 s, endpoint at 2.5 s: no sentence end, so it waits 0.6 s;
    # speech again at 2.9 s, to 4.0 s. Then "And so, my fellow Americans" alone (5.0-7.0 s), whose
    # wait ends with no more speech: final as it is, 0.6 s after its endpoint.
    script = {
        int(0.1 * S): [("start", 0)],
        int(2.5 * S): [("end", 2 * S)],
        int(2.9 * S): [("start", int(2.8 * S))],
        int(4.5 * S): [("end", 4 * S)],
        int(5.1 * S): [("start", 5 * S)],
        int(7.5 * S): [("end", 7 * S)],
    }
    finals, _partials, model = await run(dict(script), 9.0)
    assert [(f.segment_id, f.start_ms, f.end_ms, f.text) for f in finals] == [
        ("t-00000", 0, 4000, "And so, my fellow Americans, ask not."),
        ("t-00001", 5000, 7000, "And so, my fellow Americans"),
    ]
    assert model.metrics.merged_finals._value.get() == 1
    # Without the wait the clause is a final of its own (and the rest, 1.2 s, a fragment).
    finals, _partials, _model = await run(script, 9.0, phrase_ms=0)
    assert [f.text for f in finals] == ["And so, my fellow Americans", "And so", "And so, my fellow Americans"]


@pytest.mark.parametrize("delay", [0.0, 0.1], ids=["during the pause", "after speech resumed"])
async def test_a_pause_whose_decode_ends_a_sentence_ends_the_utterance_there(delay: float) -> None:
    # A sentence to 3.0 s, a pause at 3.2 s; speech again at 3.3 s (a resume, unless the pause
    # already ended the utterance: then a new start), to 6.0 s.
    script = {
        int(0.1 * S): [("start", 0)],
        int(3.2 * S): [("pause", 3 * S)],
        int(3.3 * S): [("resume", int(3.2 * S))] if delay else [],
        int(3.4 * S): [] if delay else [("start", int(3.2 * S))],
        int(6.5 * S): [("end", 6 * S)],
    }
    model = Model(idle=True, delay=delay)
    finals, _partials, model = await run(script, 7.5, model=model)
    assert [(f.segment_id, f.start_ms, f.end_ms, f.text) for f in finals] == [
        ("t-00000", 0, 3000, "And so, my fellow Americans, ask not."),
        ("t-00001", 3000 if delay else 3200, 6000, "And so, my fellow Americans, ask not."),
    ]
    assert model.metrics.punctuated_finals._value.get() == 1


async def test_while_the_decode_is_late_only_a_short_utterance_waits_for_its_speaker() -> None:
    # A busy service: decodes come back long after the speaker went on. A 3 s utterance is not
    # held for them (no sentences run together), a 1 s one is (a fragment, by its length).
    script = {
        int(0.1 * S): [("start", 0)],
        int(3.5 * S): [("end", 3 * S)],
        int(3.8 * S): [("start", int(3.7 * S))],
        int(5.5 * S): [("end", 5 * S)],
        int(6.5 * S): [("start", int(6.4 * S))],
        int(7.5 * S): [("end", int(7.4 * S))],
        int(7.8 * S): [("start", int(7.7 * S))],
        int(9.5 * S): [("end", 9 * S)],
    }
    finals, _partials, _model = await run(script, 10.0, merge_ms=600, model=Model(delay=0.3))
    assert [(f.start_ms, f.end_ms) for f in finals] == [(0, 3000), (3700, 5000), (6400, 9000)]


async def test_a_busy_service_takes_a_short_utterance_with_its_pre_roll_for_a_fragment() -> None:
    # "Ask not!": 0.7 s of speech, 1.4 s with the 500 ms pre-roll and the VAD's 200 ms end pad.
    # Its decode is not back when the speaker goes on, so its length decides: a fragment.
    script = {
        int(0.1 * S): [("start", 0)],
        int(1.5 * S): [("end", int(1.4 * S))],
        int(1.7 * S): [("start", int(1.6 * S))],
        int(4.5 * S): [("end", 4 * S)],
    }
    finals, _partials, _model = await run(script, 5.0, merge_ms=600, model=Model(delay=0.3))
    assert [(f.start_ms, f.end_ms) for f in finals] == [(0, 4000)]
