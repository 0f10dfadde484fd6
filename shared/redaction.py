"""Redaction of transcripts: the one place the rule lives. The agent applies it to every caption
before it is published and to every final before it is kept; the API again to every segment it
stores (live and batch), so everything made from a transcript only ever sees the redacted text.

What is found, in the forms speech-to-text writes it:
- e-mail addresses as written (``jo.smith@example.com``) and as spoken (``john dot smith at
  example dot com``; a spoken ``at`` needs a spoken ``dot`` or a mail provider, so "look at
  example.com" is left alone);
- phone numbers as libphonenumber finds them: valid numbers of a few regions (numbers without a
  country code are read in each), plus North-American-shaped ones libphonenumber thinks possible
  but not assigned (``555-123-4567``) when written with separators;
- card numbers: 13 to 19 digits (spaces or dashes between groups) that pass the Luhn check;
- account numbers: IBANs that pass their check digits, and runs of 6 or more digits said right
  after "account", "routing", "sort code" and the like;
- the user's terms, as whole words or phrases, ignoring case (inside CJK text, anywhere).

A span becomes its placeholder (``[email]``…, ``[redacted]`` for a term). Words keep their
timing: the words of a span become one word holding the placeholder, from the first one's start
to the last one's end, so the original cannot be read back from word-level data either."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum import iban, luhn

from shared.contracts.internal import SegmentIn
from shared.contracts.redaction import PLACEHOLDERS, TERM_PLACEHOLDER, RedactionKind, RedactionPolicy

__all__ = ["Redactor", "Span", "redact_segment", "redactor_for"]

# Regions a number without a country code is read in (a number with one is found in any).
PHONE_REGIONS = ("US", "GB", "IN", "DE", "FR", "CN")
# Earlier in this list wins where spans overlap (they are then merged into one).
PRIORITY = (RedactionKind.email, RedactionKind.card, RedactionKind.account, RedactionKind.phone)

_TLDS = "com|org|net|edu|gov|io|co|ai|dev|app|info|biz|me|us|uk|de|fr|cn|in|ca|au|nl|eu|jp|es|it|ch|se"
_MAIL_PROVIDERS = "gmail|googlemail|yahoo|hotmail|outlook|live|icloud|proton|protonmail|aol|gmx|qq|163|126|yandex|zoho"
WRITTEN_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]{0,63}[A-Za-z0-9]@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,5}\.[A-Za-z]{2,24}\b"
)
_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
_SPOKEN_SEP = r"(?:\s*\.\s*|\s+(?:dot|underscore|dash|hyphen)\s+)"
_LOCAL = rf"{_NAME}(?:{_SPOKEN_SEP}{_NAME}){{0,4}}"
_DOT = r"(?:\s+dot\s+|\s*\.\s*)"
_DOMAIN = rf"{_NAME}(?:{_DOT}{_NAME}){{0,4}}?{_DOT}(?:{_TLDS})"
SPOKEN_EMAIL = re.compile(rf"\b(?P<local>{_LOCAL})\s+at\s+(?P<domain>{_DOMAIN})\b", re.IGNORECASE)
SPOKEN_DOT = re.compile(r"\s(?:dot|underscore|dash|hyphen)\s|[._]", re.IGNORECASE)
# "dot dot smith email dot com": a spoken address whose "at" was not heard (a spoken dot in the
# local part, a spoken dot before a top-level domain).
NO_AT_EMAIL = re.compile(rf"\b{_NAME}(?:\s+(?:dot|underscore)\s+{_NAME}){{1,4}}\s+{_NAME}\s+dot\s+(?:{_TLDS})\b", re.IGNORECASE)
# "john.smithatgmail.com": a spoken "at" written into the address, before a mail provider.
GLUED_EMAIL = re.compile(rf"(?<![\w@])[A-Za-z0-9._-]{{0,63}}[A-Za-z0-9]at(?:{_MAIL_PROVIDERS}){_DOT}(?:{_TLDS})\b", re.IGNORECASE)
MAIL_PROVIDER = re.compile(rf"(?:{_MAIL_PROVIDERS})\b", re.IGNORECASE)
# "meet at example dot com" is not an address: a local part that is an ordinary word is refused.
_NOT_A_MAILBOX = frozenset(
    (  # noqa: SIM905 - a word list reads better as words
        "a an the it this that there here me us you him her them we they i look looking meet met be is are was were "
        "go went visit click see arrive arrived stay stayed live lives work works email mail write send sent reach "
        "contact site page website web home"
    ).split()
)
DASHED_GROUPS = re.compile(r"(?<![\w.,-])\d{2,4}(?:-\d{2,4}){2,6}(?![\w-]|[.,]\d)")
# One run of digits, or groups of four (Amex: 4-6-5), as card numbers are printed and read out.
CARD = re.compile(r"(?<![\d.,-])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?|\d{4}[ -]\d{6}[ -]\d{4,5})(?![\d-]|[.,]\d)")
# Digits said right after "my number is", "call me at", "mobile": a phone number even when
# speech-to-text dropped or merged digits ("My number is 22550187").
PHONE_CONTEXT = re.compile(
    r"\b(?:(?:phone|mobile|cell|cellphone|telephone)(?:\s+number)?|my\s+number|(?:call|ring|text|reach)\s+me\s+(?:at|on))"
    r"(?:\s+(?:is|was|it's))?[\s:,]*(?P<digits>\+?\(?\d(?:[ ().-]{0,2}\d){6,14})(?!\d)",
    re.IGNORECASE,
)
# Written as one run, or in groups of four (the last shorter).
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b", re.IGNORECASE)
ACCOUNT = re.compile(
    r"\b(?:account|acct|a/c|routing|sort\s+code|bsb|iban|bank\s+details)\b"
    r"(?:\s+(?:number|numbers|no\.?|num|#|is|was|it's|reads|ending|ending\s+in|code|details|of|the|are)){0,4}[\s:#,]{0,4}"
    r"(?P<digits>\d(?:[ -]?\d){5,33})(?![\d])",
    re.IGNORECASE,
)
# In a partial (speech still going on), what may be the start of something to hide: a digit run
# of 5 or more, or of 3 or more at its end (a phone, card or account number being said), an address with "@", a spoken
# "john dot smith" (at the end, or before "at"; with what follows "at" to the end) or a written
# "john.smith".
PARTIAL_DIGITS = re.compile(r"(?<![\w.,])\+?\(?\d(?:[ ().-]{0,2}\d){4,}|(?<![\w.,])\+?\(?\d(?:[ ().-]{0,2}\d){2,}(?=[.,!?]?\s*$)")
PARTIAL_EMAIL = re.compile(
    rf"[^\s@]{{0,64}}@\S{{0,64}}|\b{_NAME}(?:\s+(?:dot|underscore)\s+{_NAME}){{1,4}}(?:\s+at\b.*)?$|\b{_NAME}(?:\s+(?:dot|underscore)\s+{_NAME}){{1,4}}\s+at\b"
    rf"|\b[A-Za-z][A-Za-z0-9]{{0,63}}[._][A-Za-z][A-Za-z0-9._]{{0,63}}\b",
    re.IGNORECASE,
)
PARTIAL_PLACEHOLDER = "[…]"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    placeholder: str


class WordLike(Protocol):
    """A timed word (``WordIn``, ``Word``): pydantic models, copied with new fields."""

    text: str
    start_ms: int
    end_ms: int

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self: ...


W = TypeVar("W", bound=WordLike)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class Redactor:
    """A policy made ready to apply (patterns compiled once; :func:`redactor_for` keeps one per
    policy). ``redact`` takes a text, ``redact_words`` a segment's text and words."""

    def __init__(self, policy: RedactionPolicy) -> None:
        self.policy = policy
        self.kinds = frozenset(policy.kinds) if policy.enabled else frozenset()
        self.terms = _term_pattern(policy.terms) if policy.enabled and policy.terms else None

    @property
    def active(self) -> bool:
        return bool(self.kinds or self.terms)

    def spans(self, text: str) -> list[Span]:
        """Where ``text`` holds something to hide: sorted, never overlapping."""
        if not self.active or not text:
            return []
        found: list[tuple[int, int, int]] = []  # start, end, rank (lower wins)
        rank = {kind: n for n, kind in enumerate(PRIORITY)}
        for kind in self.kinds:
            found += [(start, end, rank[kind]) for start, end in _FINDERS[kind](text)]
        if self.terms is not None:
            found += [(m.start(), m.end(), len(PRIORITY)) for m in self.terms.finditer(text)]
        found.sort()
        merged: list[list[int]] = []
        for start, end, r in found:
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
                merged[-1][2] = min(merged[-1][2], r)
            else:
                merged.append([start, end, r])
        return [Span(start, end, _placeholder(r)) for start, end, r in merged]

    def redact(self, text: str) -> str:
        return _apply(text, self.spans(text))

    def redact_partial(self, text: str) -> str:
        """A partial caption: redacted as a final is, and what may be the start of a number or
        an address not finished yet is hidden as ``[…]`` (the final shows what it was)."""
        text = self.redact(text)
        if self.kinds & {RedactionKind.phone, RedactionKind.card, RedactionKind.account}:
            text = PARTIAL_DIGITS.sub(PARTIAL_PLACEHOLDER, text)
        if RedactionKind.email in self.kinds:
            text = PARTIAL_EMAIL.sub(PARTIAL_PLACEHOLDER, text)
        return text

    def redact_words(self, text: str, words: Sequence[W]) -> tuple[str, list[W]]:
        """The text redacted, and its words with every word of a redacted span replaced: the
        words of one span become one word of the same type holding the placeholder, from the
        first one's start to the last one's end (no probability). Words are found in the text in order; where they cannot all be
        found there, they are redacted by the same rule on their own joined text."""
        spans = self.spans(text)
        redacted = _apply(text, spans)
        if not words:
            return redacted, []
        located = _locate(text, [w.text for w in words])
        if located is None:
            joined, located = _joined(words)
            source, spans = joined, self.spans(joined)
        else:
            source = text
        if not spans:
            return redacted, list(words)
        return redacted, _regroup(source, spans, words, located)


def _placeholder(rank: int) -> str:
    return PLACEHOLDERS[PRIORITY[rank]] if rank < len(PRIORITY) else TERM_PLACEHOLDER


def _apply(text: str, spans: list[Span]) -> str:
    out, at = [], 0
    for span in spans:
        out += [text[at : span.start], span.placeholder]
        at = span.end
    out.append(text[at:])
    return "".join(out)


def _locate(text: str, words: list[str]) -> list[tuple[int, int]] | None:
    """Each word's (start, end) in ``text``, found in order; None when one is not there."""
    folded, at, where = text.casefold(), 0, []
    for word in words:
        needle = word.strip().casefold()
        if not needle:
            where.append((at, at))
            continue
        start = folded.find(needle, at)
        if start < 0:
            return None
        where.append((start, start + len(needle)))
        at = start + len(needle)
    return where


def _joined(words: Sequence[WordLike]) -> tuple[str, list[tuple[int, int]]]:
    parts, where, at = [], [], 0
    for word in words:
        piece = word.text.strip()
        where.append((at, at + len(piece)))
        parts.append(piece)
        at += len(piece) + 1
    return " ".join(parts), where


def _regroup(source: str, spans: list[Span], words: Sequence[W], located: list[tuple[int, int]]) -> list[W]:
    out: list[W] = []
    group: list[int] = []  # indexes of the words of the current redacted run
    group_spans: set[int] = set()

    def flush() -> None:
        if not group:
            return
        first, last = words[group[0]], words[group[-1]]
        lo, hi = located[group[0]][0], located[group[-1]][1]
        inside = [
            Span(max(spans[n].start, lo) - lo, min(spans[n].end, hi) - lo, spans[n].placeholder) for n in sorted(group_spans)
        ]
        piece = _apply(source[lo:hi], inside)
        lead = first.text[: len(first.text) - len(first.text.lstrip())]
        out.append(first.model_copy(update={"text": lead + piece.strip(), "end_ms": last.end_ms, "prob": None}))
        group.clear()
        group_spans.clear()

    for n, (word, (start, end)) in enumerate(zip(words, located, strict=True)):
        hit = {k for k, s in enumerate(spans) if start < s.end and s.start < end}
        if hit and (not group or hit & group_spans):
            group.append(n)
            group_spans.update(hit)
        elif hit:
            flush()
            group.append(n)
            group_spans.update(hit)
        else:
            flush()
            out.append(word)
    flush()
    return out


def _term_pattern(terms: list[str]) -> re.Pattern[str]:
    """One pattern for every term, longest first; whole words (not inside a placeholder), any
    whitespace between a phrase's words; a term in CJK script matches anywhere."""
    parts = []
    for term in sorted(terms, key=len, reverse=True):
        body = r"\s+".join(re.escape(word) for word in term.split())
        parts.append(body if _CJK.search(term) else rf"(?<![\w\[]){body}(?![\w\]])")
    return re.compile("|".join(parts), re.IGNORECASE)


def _emails(text: str) -> list[tuple[int, int]]:
    """Written addresses, and spoken ones ("<local> at <domain>") where something says it is an
    address: a dot or underscore in the local part, a spoken "dot" in the domain, or a mail
    provider's name; and the local part is not an ordinary word ("look at example.com")."""
    found = [(m.start(), m.end()) for pattern in (WRITTEN_EMAIL, GLUED_EMAIL, NO_AT_EMAIL) for m in pattern.finditer(text)]
    for m in SPOKEN_EMAIL.finditer(text):
        local, domain = m.group("local"), m.group("domain")
        if local.casefold() in _NOT_A_MAILBOX:
            continue
        if SPOKEN_DOT.search(local) or re.search(r"\sdot\s", domain, re.IGNORECASE) or MAIL_PROVIDER.match(domain):
            found.append((m.start(), m.end()))
    return found


def _phones(text: str) -> list[tuple[int, int]]:
    if sum(ch.isdigit() for ch in text) < 7:
        return []
    # A number said in groups that speech-to-text wrote with dashes ("400-155-155-0132"): 3 or
    # more groups of 2 to 4 digits, 10 to 15 digits in all, is a phone number even where no
    # region's plan would have it.
    found = {(m.start(), m.end()) for m in DASHED_GROUPS.finditer(text) if 10 <= len(_digits(m.group())) <= 15}
    found |= {(m.start("digits"), m.end("digits")) for m in PHONE_CONTEXT.finditer(text)}
    found |= {(m.start, m.end) for region in PHONE_REGIONS for m in PhoneNumberMatcher(text, region, leniency=Leniency.VALID)}
    # Numbers in North-American shape that are possible but unassigned (555-…), written with
    # separators, as people give them in examples.
    for m in PhoneNumberMatcher(text, "US", leniency=Leniency.POSSIBLE):
        raw = m.raw_string
        if len(_digits(raw)) >= 10 and any(ch in raw for ch in " -.()") and phonenumbers.is_possible_number(m.number):
            found.add((m.start, m.end))
    return sorted(found)


def _cards(text: str) -> list[tuple[int, int]]:
    found = []
    for m in CARD.finditer(text):
        digits = _digits(m.group())
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits) and digits[0] in "23456":
            found.append((m.start(), m.end()))
    return found


def _accounts(text: str) -> list[tuple[int, int]]:
    found = [(m.start(), m.end()) for m in IBAN.finditer(text) if iban.is_valid(m.group())]
    found += [(m.start("digits"), m.end("digits")) for m in ACCOUNT.finditer(text)]
    return found


_FINDERS = {
    RedactionKind.email: _emails,
    RedactionKind.phone: _phones,
    RedactionKind.card: _cards,
    RedactionKind.account: _accounts,
}


@functools.lru_cache(maxsize=256)
def _cached(policy_json: str) -> Redactor:
    return Redactor(RedactionPolicy.model_validate_json(policy_json))


def redactor_for(policy: RedactionPolicy | None) -> Redactor:
    """The redactor for ``policy`` (none: one that changes nothing), made once per policy."""
    return _cached((policy or RedactionPolicy()).model_dump_json())


def redact_segment(redactor: Redactor, segment: SegmentIn) -> SegmentIn:
    """A final segment with its text and words redacted (the same segment when nothing is)."""
    if not redactor.active:
        return segment
    text, words = redactor.redact_words(segment.text, segment.words)
    if text == segment.text and words == segment.words:
        return segment
    return segment.model_copy(update={"text": text, "words": words})
