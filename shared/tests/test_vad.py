"""The VAD on real speech: where a long stretch of speech is cut into clips, and where the streaming
endpointer says utterances start, pause and end."""

from __future__ import annotations

import numpy as np
import pytest

from shared.vad import SAMPLE_RATE, Endpointer, VadParams, clip_spans, speech_regions
from tests.speech import LINES, silence, synth, trimmed

pytestmark = [pytest.mark.unit]


def run(audio: np.ndarray, endpoint_silence_ms: int = 500) -> tuple[list[tuple[str, int]], list[bool]]:
    """Events, and whether the endpointer said it was paused after each 20 ms frame."""
    endpointer = Endpointer(VadParams(), endpoint_silence_ms, 25.0)
    events, paused = [], []
    frame = SAMPLE_RATE // 50
    for i in range(0, audio.size, frame):
        events += endpointer.feed(audio[i : i + frame])
        paused.append(endpointer.paused)
    return events, paused


def test_a_pause_announces_the_end_that_follows_unless_speech_resumes() -> None:
    first = trimmed(synth("The quarterly budget review is scheduled for Thursday."))
    second = synth("Please send the plan to everyone.")
    audio = np.concatenate([silence(0.5), first, silence(0.3), second, silence(1.0)])
    events, paused = run(audio)

    kinds = [kind for kind, _ in events]
    # The short gap is a pause that speech overrides; the long one is a pause, then the end.
    assert kinds == ["start", "pause", "resume", "pause", "end"], events
    (_, first_pause), (_, resumed_at), (_, last_pause), (_, end) = events[1:]
    # A decode started at the pause has all the speech: only silence (and the padding) follows.
    assert 0 <= end - last_pause <= VadParams().pad_ms * SAMPLE_RATE // 1000
    assert first_pause < resumed_at < last_pause
    gap_start = (SAMPLE_RATE // 2 + first.size) / SAMPLE_RATE
    assert abs(first_pause / SAMPLE_RATE - gap_start) < 0.35
    assert abs(end / SAMPLE_RATE - (audio.size / SAMPLE_RATE - 1.0)) < 0.35
    # The second sentence resumes right after the gap; the end clears the paused state.
    assert abs(resumed_at / SAMPLE_RATE - (gap_start + 0.3)) < 0.2
    assert True in paused and paused[-1] is False


def test_no_pause_event_when_the_endpoint_comes_first() -> None:
    audio = np.concatenate([silence(0.3), synth("Okay, let's begin."), silence(1.0)])
    events, _ = run(audio, endpoint_silence_ms=150)
    assert {kind for kind, _ in events} == {"start", "end"}  # a pause needs more silence than that


def test_speech_longer_than_a_clip_is_cut_between_words() -> None:
    # Sentences 0.3 s apart: too short a pause to end a VAD region, so the region runs ~50 s.
    sentences = [trimmed(synth(text)) for text in LINES[:9]]
    audio = np.concatenate([silence(0.5)] + [np.concatenate([s, silence(0.3)]) for s in sentences])
    regions = speech_regions(audio)
    assert len(regions) == 1 and regions[0][1] - regions[0][0] > 40 * SAMPLE_RATE
    spans = clip_spans(regions, audio)
    assert len(spans) == 2 and all(end - start <= 30 * SAMPLE_RATE for start, end in spans)
    assert spans[0][0] == regions[0][0] and spans[-1][1] == regions[0][1]
    cut = spans[0][1]
    assert spans[1][0] == cut
    # Between two sentences (0.3 s of silence), not inside a word (an even split cut one).
    assert np.abs(audio[cut - SAMPLE_RATE // 20 : cut + SAMPLE_RATE // 20]).max() < 1e-3
