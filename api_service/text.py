"""Plain-text measures shared by summaries, passages and the digest: the words that say nothing
about a topic, and a token estimate for budgets."""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        "the a an and or but to of in on for with is are was were be been it this that we you i they he she will would can could "
        "should do does did have has had at by from as so our your their not just",
    )
)


def estimate_tokens(text: str) -> int:
    # ~4 characters a token for English; CJK is about a token per character.
    cjk = len(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]", text))
    return cjk + (len(text) - cjk) // 4 + 1
