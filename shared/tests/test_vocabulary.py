"""The custom vocabulary's rules, as every service applies them: terms read as typed, blanks and
repeats left out, and what cannot be used refused with a sentence that names the term."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from shared.clients.stt import wav
from shared.contracts.stt import StreamConfig, stream_control
from shared.contracts.vocabulary import MAX_TERM_CHARS, MAX_TERMS, Vocabulary, VocabularyError, clean_vocabulary

pytestmark = [pytest.mark.unit]


class Body(BaseModel):
    vocabulary: Vocabulary | None = None


def test_terms_are_read_as_typed() -> None:
    terms = ["  Okonkwo ", "Brightwell\tLabs", "", "   ", "okonkwo", "PostgreSQL", "Brightwell labs", "東京", "Zoë\x00Maréchal"]
    assert clean_vocabulary(terms) == ["Okonkwo", "Brightwell Labs", "PostgreSQL", "東京", "Zoë Maréchal"]
    assert clean_vocabulary([]) == []
    assert clean_vocabulary(["x" * MAX_TERM_CHARS] * 3) == ["x" * MAX_TERM_CHARS]
    # Blanks and repeats do not count toward the limit.
    assert len(clean_vocabulary([f"term {n}" for n in range(MAX_TERMS)] + ["TERM 1", ""] * 20)) == MAX_TERMS


@pytest.mark.parametrize(
    ("terms", "sentence"),
    [
        ([f"term {n}" for n in range(101)], "The vocabulary has 101 terms: keep it to 100 or fewer."),
        (["x"] * 201, "The vocabulary has 201 terms: keep it to 100 or fewer."),
        (
            ["Okonkwo", "Supercalifragilistic " * 4],
            "Vocabulary term 2 ('Supercalifragilistic…') is 83 characters long: keep each term to 64 characters or fewer.",
        ),
        (["Okonkwo", "Zorblax", "!!!"], "Vocabulary term 3 ('!!!') has no letters or digits."),
        (["bad \ud800 text"], "Vocabulary term 1 is not valid Unicode text."),
    ],
)
def test_what_cannot_be_used_is_refused_with_a_sentence(terms: list[str], sentence: str) -> None:
    with pytest.raises(VocabularyError) as refused:
        clean_vocabulary(terms)
    assert str(refused.value) == sentence
    # As a request field, the same sentence is the validation error's message.
    with pytest.raises(ValidationError) as invalid:
        Body(vocabulary=terms)
    assert [e["msg"] for e in invalid.value.errors()] == [sentence]


def test_a_request_field_holds_the_cleaned_list() -> None:
    assert Body(vocabulary=[" Okonkwo", "okonkwo", ""]).vocabulary == ["Okonkwo"]
    assert Body().vocabulary is None
    schema = Body.model_json_schema()["properties"]["vocabulary"]["anyOf"][0]
    assert schema["maxItems"] == MAX_TERMS and schema["items"]["maxLength"] == MAX_TERM_CHARS


def test_the_stream_config_control() -> None:
    control = stream_control.validate_json('{"type": "config", "vocabulary": ["Okonkwo", " Vantrix "]}')
    assert isinstance(control, StreamConfig) and control.vocabulary == ["Okonkwo", "Vantrix"]
    assert stream_control.validate_json('{"type": "config"}') == StreamConfig(vocabulary=[])


def test_pcm_goes_out_as_a_wav_file() -> None:
    from shared.audio import decode_audio

    samples = (((np.arange(1600) % 100) - 50) * 300).astype("<i2")
    decoded = decode_audio(wav(samples.tobytes(), 16000))
    assert decoded.size == 1600 and abs(float(decoded[10]) - samples[10] / 32768) < 1e-3
