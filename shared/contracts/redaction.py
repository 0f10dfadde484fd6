"""Redaction: what a user or a session asks to be hidden from its transcript (live captions,
stored segments, webhooks, summaries, exports). ``shared.redaction`` applies it; this is the
policy alone, so every service reads and checks it the same way.

A policy names the kinds of personal data to find (e-mail addresses, phone numbers, card numbers,
account numbers) and a list of the user's own terms (names, project code words). Terms are read as
a person typed them: control characters count as spaces, runs of spaces as one, blanks and
repeats (ignoring case) are left out. What cannot be used is refused with a sentence."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError

# The same limits as a vocabulary (re-exported: the policy's own names for them).
from shared.contracts.vocabulary import MAX_TERM_CHARS as MAX_TERM_CHARS
from shared.contracts.vocabulary import MAX_TERMS as MAX_TERMS
from shared.contracts.vocabulary import clean_term_list


class RedactionKind(StrEnum):
    email = "email"
    phone = "phone"
    card = "card"
    account = "account"


ALL_KINDS = tuple(RedactionKind)
# What a redacted span becomes, in the text and as the one word that keeps the span's timing.
PLACEHOLDERS = {kind: f"[{kind.value}]" for kind in RedactionKind}
TERM_PLACEHOLDER = "[redacted]"


class RedactionError(ValueError):
    """A policy that cannot be used; the message is a sentence for the user."""


def clean_terms(terms: list[str] | tuple[str, ...]) -> list[str]:
    """The terms as the redactor gets them (read as a vocabulary's are, with the same limits);
    raises :class:`RedactionError` for a list that cannot be used."""
    return clean_term_list(terms, "redaction list", "Redaction term", RedactionError)


def _terms(terms: list[str]) -> list[str]:
    try:
        return clean_terms(terms)
    except RedactionError as exc:
        raise PydanticCustomError("redaction_terms", str(exc)) from None


def _kinds(value: Any) -> Any:
    """Unknown kinds are refused with a sentence naming them and the ones there are."""
    if isinstance(value, list | tuple | set | frozenset):
        known = {kind.value for kind in RedactionKind}
        unknown = [v for v in value if not (isinstance(v, str) and v in known)]
        if unknown:
            raise PydanticCustomError(
                "redaction_kind",
                "{unknown} is not something redaction can find: choose from email, phone, card and account.",
                {"unknown": ", ".join(repr(v) for v in unknown[:3])},
            )
    return value


RedactionTerms = Annotated[
    list[str],
    Field(
        description=f"words and phrases to hide wherever they are said, as whole words, ignoring case: at most "
        f"{MAX_TERMS} terms of at most {MAX_TERM_CHARS} characters (blank ones and repeats are left out)",
        json_schema_extra={"maxItems": MAX_TERMS, "items": {"type": "string", "maxLength": MAX_TERM_CHARS}},
    ),
    AfterValidator(_terms),
]


def _sorted_kinds(kinds: list[RedactionKind]) -> list[RedactionKind]:
    return [kind for kind in ALL_KINDS if kind in kinds]


class RedactionPolicy(BaseModel):
    """What to hide in a transcript. Off by default; turned on, it finds every kind unless told
    otherwise. Captions, stored segments (text and words) and everything made from them carry
    ``[email]``, ``[phone]``, ``[card]``, ``[account]`` or ``[redacted]`` (a term) instead."""

    enabled: bool = False
    kinds: Annotated[list[RedactionKind], BeforeValidator(_kinds), AfterValidator(_sorted_kinds)] = Field(
        default_factory=lambda: list(ALL_KINDS), max_length=len(ALL_KINDS) * 2
    )
    terms: RedactionTerms = Field(default_factory=list)

    @property
    def active(self) -> bool:
        """Anything to do: on, with a kind or a term to find."""
        return self.enabled and bool(self.kinds or self.terms)


def stored_policy(value: Any) -> RedactionPolicy:
    """A policy as stored (a dict; ``{}`` or None is the default, off). One that no longer reads
    under today's rules hides every kind: safer than showing what it was meant to hide."""
    if isinstance(value, RedactionPolicy):
        return value
    try:
        return RedactionPolicy.model_validate(value or {})
    except ValueError:
        return RedactionPolicy(enabled=True)


class RedactionPatch(BaseModel):
    """A change to a policy: the fields given replace the ones there, the others stay."""

    enabled: bool | None = None
    kinds: Annotated[list[RedactionKind], BeforeValidator(_kinds), AfterValidator(_sorted_kinds)] | None = Field(
        default=None, max_length=len(ALL_KINDS) * 2
    )
    terms: RedactionTerms | None = None

    def applied_to(self, policy: RedactionPolicy) -> RedactionPolicy:
        return policy.model_copy(update=self.model_dump(exclude_none=True))
