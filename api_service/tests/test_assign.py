"""Speaker attribution of batch transcripts: a diarization boundary a word off does not cut a
sentence in half, a real change of speaker still starts a new segment, and no word is lost."""

from __future__ import annotations

from typing import Any

import pytest

from api_service.jobs.assign import attribute, segments_from_words
from shared.contracts.diarization import Turn

pytestmark = [pytest.mark.unit]


def timed(text: str, start_ms: int, ms_per_word: int = 300) -> list[dict[str, Any]]:
    """Words of ``text`` back to back from ``start_ms``, as the STT service gives them."""
    return [
        {"start_ms": start_ms + n * ms_per_word, "end_ms": start_ms + (n + 1) * ms_per_word, "text": f" {word}", "prob": 0.9}
        for n, word in enumerate(text.split())
    ]


def transcript(words: list[dict[str, Any]], turns: list[Turn]) -> list[tuple[str | None, str]]:
    return [(s["speaker"], s["text"]) for s in segments_from_words(attribute(words, turns), "en")]


def test_a_sentence_keeps_its_speaker_across_a_boundary_a_word_early() -> None:
    # "fine." ends A's sentence, but the diarization hands over to B 300 ms early.
    words = timed("If nobody objects then that's fine.", 0) + timed("I'm just thinking about the budget.", 2100)
    turns = [Turn(0, 1500, "A"), Turn(1500, 4200, "B")]
    assert transcript(words, turns) == [
        ("A", "If nobody objects then that's fine."),
        ("B", "I'm just thinking about the budget."),
    ]


def test_a_sentence_keeps_its_speaker_across_a_boundary_a_word_late() -> None:
    words = timed("Right, let's begin.", 0) + timed("So the first item is hiring.", 900)
    turns = [Turn(0, 1200, "A"), Turn(1200, 2700, "B")]
    assert transcript(words, turns) == [("A", "Right, let's begin."), ("B", "So the first item is hiring.")]


def test_a_change_of_speaker_the_punctuation_missed_still_starts_a_segment() -> None:
    # Whisper ran two speakers' words together with no full stop: both stretches are real turns.
    words = timed("we could ship it on Monday if the tests pass", 0) + timed("no we need another week", 3000)
    turns = [Turn(0, 3000, "A"), Turn(3000, 4500, "B")]
    assert transcript(words, turns) == [("A", "we could ship it on Monday if the tests pass"), ("B", "no we need another week")]


def test_a_short_answer_of_its_own_is_kept() -> None:
    words = timed("Is everyone here?", 0) + timed("Yes.", 1000) + timed("Good, then we start.", 1400)
    turns = [Turn(0, 900, "A"), Turn(950, 1350, "B"), Turn(1350, 2600, "A")]
    assert transcript(words, turns) == [("A", "Is everyone here?"), ("B", "Yes."), ("A", "Good, then we start.")]


def test_words_outside_every_turn_are_kept() -> None:
    words = timed("Hello there.", 0) + timed("This is the end of the call.", 9000)
    turns = [Turn(3000, 8000, "A")]
    segments = segments_from_words(attribute(words, turns), "en")
    assert " ".join(s["text"] for s in segments) == "Hello there. This is the end of the call."
    assert sum(len(s["words"]) for s in segments) == len(words)
