"""The Whisper engine in process, on the embedded base model: every clip decoded to its end, the
short live window and its guard against a looping decode, a custom vocabulary's names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.audio import decode_audio
from stt_service.engines.base import Clip
from stt_service.engines.whisper import VOCABULARY_TOKENS, WhisperEngine
from stt_service.model_store import resolve_whisper_model
from tests.speech import EVAL_ENGLISH, PHONE_CALL, RARE_NAMES, VOCABULARY, found_terms, normalize, silence, synth

pytestmark = [pytest.mark.service]


@pytest.fixture(scope="module")
def engine() -> WhisperEngine:
    return WhisperEngine(resolve_whisper_model("base", Path("models")), model_name="base")


def words(text: str) -> list[str]:
    return normalize(text).split()


def test_a_clip_is_transcribed_to_its_end_wherever_whisper_stops(engine: WhisperEngine) -> None:
    # The phone call's 23 s of speech, from where the VAD finds it (about 6.58 s): one decode of
    # the window stopped at 25.2 s ("At least, you know,") or 27.3 s ("down here."), depending
    # on the exact first sample, and lost the last utterance; the rest is decoded again.
    audio = decode_audio(PHONE_CALL / "sample.wav")
    starts = [6.4, 6.58, 6.584, 6.7]
    results = engine.transcribe_clips([Clip(audio[round(s * 16000) :], "en") for s in starts])
    for start, result in zip(starts, results, strict=True):
        assert words(result.text)[-4:] == ["that", "new", "jersey", "now"], (start, result.text)
        assert start + result.segments[-1].words[-1].end_ms / 1000 > 29.5
        assert normalize(result.text).count("yankee down here") == 1, result.text  # nothing decoded twice


def test_short_window_transcribes_like_the_full_one(engine: WhisperEngine) -> None:
    clips = [Clip(np.concatenate([silence(0.3), synth(text, voice)]), "en") for voice, text in EVAL_ENGLISH[:4]]
    full = engine.transcribe_clips(clips)
    short = engine.transcribe_clips([Clip(c.audio, "en", short_window=True) for c in clips])
    for clip, clip_full, clip_short in zip(clips, full, short, strict=True):
        a, b = words(clip_full.text), words(clip_short.text)
        assert len(set(a) ^ set(b)) <= 2, (clip_full.text, clip_short.text)
        # Word times still line up with the audio (espeak leaves ~0.4 s of silence at the end).
        duration_ms = clip.audio.size * 1000 // 16000
        assert duration_ms - 1500 <= clip_short.segments[-1].words[-1].end_ms <= duration_ms


def test_a_looping_short_window_decode_is_redone_in_the_full_window(engine: WhisperEngine) -> None:
    # This clip (the sentence cut 0.2 s after its audio ends) sent the base model into "Let Let
    # Let ..." for 4 s when encoded in a short window; it now gets the full window instead.
    text = "Let's move the design review to the second week of March."
    audio = synth(text, "en-gb+m2")
    clip = Clip(np.concatenate([silence(0.2), audio[: -int(0.2 * 16000)]]), "en", short_window=True)
    (result,) = engine.transcribe_clips([clip])
    assert words(result.text)[-4:] == ["second", "week", "of", "march"], result.text


@pytest.mark.parametrize(
    ("text", "looping"),
    [
        (" Let Let Let Let Let Let Let Let Let Let Let Let", True),
        # Seen live: a short window that said the whole sentence twice.
        (" Let's move the review to the second week of March. Let's move the review to the second week of March", True),
        (" I think, I think we should go.", False),
        (" The budget review is scheduled for Thursday afternoon.", False),
        (" Yes.", False),
    ],
)
def test_what_counts_as_a_looping_decode(text: str, looping: bool) -> None:
    assert WhisperEngine._degenerate([{"text": text}]) is looping


def test_a_vocabulary_makes_the_names_it_lists_come_out_spelt_right(engine: WhisperEngine) -> None:
    """Names the base model has never seen: without the vocabulary it writes them as other words
    ("A concuo will present the Mantric Roadmap", "from Bluffar in Tokyo with low"); with it, as
    listed. Sentences without those names come out the same either way."""
    named = [RARE_NAMES[i] for i in (2, 3, 4, 6)]  # 7 names
    clips = [np.concatenate([silence(0.3), synth(text, voice), silence(0.3)]) for voice, text, _terms in named]
    plain = [np.concatenate([silence(0.3), synth(text, voice), silence(0.3)]) for voice, text in EVAL_ENGLISH[:2]]
    without = engine.transcribe_clips([Clip(audio, "en") for audio in clips + plain])
    biased = engine.transcribe_clips([Clip(audio, "en", vocabulary=tuple(VOCABULARY)) for audio in clips + plain])

    def recall(results: list) -> int:
        return sum(found_terms(terms, r.text) for (_voice, _text, terms), r in zip(named, results, strict=False))

    assert recall(without) <= 1, [r.text for r in without]
    assert recall(biased) >= 6, [r.text for r in biased]
    for before, after in zip(without[len(clips) :], biased[len(clips) :], strict=True):
        assert words(before.text) == words(after.text)


def test_a_long_vocabulary_keeps_its_first_terms_within_the_token_budget(engine: WhisperEngine) -> None:
    terms = tuple(f"Name{n} Surname{n}" for n in range(100))
    hotwords = engine.hotwords(terms)
    assert hotwords is not None and hotwords.startswith("Glossary: Name0 Surname0, Name1 Surname1,")
    kept = hotwords.removeprefix("Glossary: ").removesuffix(".").split(", ")
    assert 10 < len(kept) < 100 and kept == list(terms[: len(kept)])
    assert len(engine._model.hf_tokenizer.encode(" " + hotwords, add_special_tokens=False).ids) <= VOCABULARY_TOKENS
    assert engine.hotwords(()) is None
    # The longest possible list still decodes, in both windows (prompt and answer fit the context).
    audio = np.concatenate([silence(0.3), synth(EVAL_ENGLISH[0][1]), silence(0.3)])
    for short_window in (False, True):
        (result,) = engine.transcribe_clips([Clip(audio, "en", vocabulary=terms, short_window=short_window)])
        assert "budget review" in normalize(result.text)
