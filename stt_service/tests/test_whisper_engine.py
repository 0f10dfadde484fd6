"""The Whisper engine in process, on the embedded base model: every clip decoded to its end, the
short live window and its guard against a looping decode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.audio import decode_audio
from stt_service.engines.base import Clip
from stt_service.engines.whisper import WhisperEngine
from stt_service.model_store import resolve_whisper_model
from tests.speech import EVAL_ENGLISH, PHONE_CALL, normalize, silence, synth

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
