"""Which partial decodes are shown to people: words in any script and with their punctuation are,
decodes of noise or of half a syllable that come out mostly as digits, symbols or dots are not."""

from __future__ import annotations

import pytest

from stt_service.streaming import readable

pytestmark = [pytest.mark.unit]


@pytest.mark.parametrize(
    "text",
    ["ask not", "Hello, world.", "And so, my fellow Americans", "我们开始开会", "Привет", "at 9 o'clock", "ok 2"],
)
def test_words_are_shown(text: str) -> None:
    assert readable(text)


@pytest.mark.parametrize("text", ["", "   ", "S9", "...", "♪ ♪", "$5", "1990", "- -", "?!"])
def test_junk_is_not_shown(text: str) -> None:
    assert not readable(text)
