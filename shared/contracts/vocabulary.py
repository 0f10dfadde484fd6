"""Custom vocabulary: the names, product names and jargon a session's speech-to-text is biased
toward (live and in batch). One set of rules for every service that takes a list: the API
checks what users send, the STT service what reaches it.

A term is read as a person typed it: control characters count as spaces, runs of spaces as one,
blank terms and repeats (ignoring case) are left out. What cannot be used is refused with a
sentence that says which term and why."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

MAX_TERMS = 100
MAX_TERM_CHARS = 64


class VocabularyError(ValueError):
    """A list that cannot be used as a vocabulary; the message is a sentence for the user."""


def _shown(term: str) -> str:
    return term if len(term) <= 24 else term[:21].rstrip() + "…"


def clean_term_list(terms: list[str] | tuple[str, ...], list_name: str, term_name: str, error: type[ValueError]) -> list[str]:
    """The terms as a person meant them (see the module's docstring), for any list of typed terms
    (this vocabulary, a redaction list): raises ``error`` with a sentence naming ``list_name`` ("the
    vocabulary") or the ``term_name`` and number ("Vocabulary term 3") of what cannot be used."""
    if len(terms) > 2 * MAX_TERMS:  # before any work on them (blanks and repeats could not bring it down)
        raise error(f"The {list_name} has {len(terms)} terms: keep it to {MAX_TERMS} or fewer.")
    kept: dict[str, str] = {}
    for n, raw in enumerate(terms, start=1):
        if any(unicodedata.category(ch) == "Cs" for ch in raw):
            raise error(f"{term_name} {n} is not valid Unicode text.")
        term = " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in raw).split())
        if not term:
            continue
        if len(term) > MAX_TERM_CHARS:
            raise error(
                f"{term_name} {n} ({_shown(term)!r}) is {len(term)} characters long: "
                f"keep each term to {MAX_TERM_CHARS} characters or fewer."
            )
        if not any(ch.isalnum() for ch in term):
            raise error(f"{term_name} {n} ({term!r}) has no letters or digits.")
        kept.setdefault(term.casefold(), term)
    if len(kept) > MAX_TERMS:
        raise error(f"The {list_name} has {len(kept)} terms: keep it to {MAX_TERMS} or fewer.")
    return list(kept.values())


def clean_vocabulary(terms: list[str] | tuple[str, ...]) -> list[str]:
    """The terms as the engines get them; raises :class:`VocabularyError` for a list that cannot
    be used."""
    return clean_term_list(terms, "vocabulary", "Vocabulary term", VocabularyError)


def _validated(terms: list[str]) -> list[str]:
    try:
        return clean_vocabulary(terms)
    except VocabularyError as exc:
        raise PydanticCustomError("vocabulary", str(exc)) from None


# A request field: the cleaned list, or a 422 whose message is one of the sentences above.
Vocabulary = Annotated[
    list[str],
    Field(
        description=f"names, product names and jargon to recognise: at most {MAX_TERMS} terms of "
        f"at most {MAX_TERM_CHARS} characters (blank ones and repeats are left out); Whisper reads "
        "about the first 120 tokens (30 to 40 names), so put the most important first",
        json_schema_extra={"maxItems": MAX_TERMS, "items": {"type": "string", "maxLength": MAX_TERM_CHARS}},
    ),
    AfterValidator(_validated),
]
