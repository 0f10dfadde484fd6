"""Transcript passages for questions: how lines are numbered for a model, which lines match a
question (keyword scoring, no embeddings), and how the model's ``[n]`` citations are checked.

A model sees each line as ``[n] [mm:ss] Speaker: text`` and cites with ``[n]``. Only numbers that
were in its prompt become citations; the others are dropped from the answer, also while it streams
(:class:`CitationFilter`). The answer's markers are renumbered in the order they first appear, so
``[k]`` in the answer is the k-th citation."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from api_service.text import STOPWORDS, estimate_tokens
from shared.timecode import short_time

# Words a question is made of that say nothing about what it asks for.
QUESTION_WORDS = frozenset(
    re.findall(
        r"\w+",
        "what who whom whose when where why how which whether about did does do said say says tell told me us "
        "there any anything something meeting meetings call talk talked discussed discuss mention mentioned "
        "was were is are am if then than also been into over its his her him them my mine ours yours all "
        "please could would should can may might shall let know think",
    )
)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
MAX_QUERY_TERMS = 12


@dataclass(frozen=True)
class Passage:
    """One transcript segment, with the session it belongs to."""

    session_id: str
    session_title: str
    segment_id: str
    start_ms: int
    end_ms: int
    speaker: str | None
    text: str
    session_date: str | None = None  # when the meeting was, YYYY-MM-DD (for questions across meetings)

    @classmethod
    def of(cls, session_id: str, session_title: str, segment: dict[str, Any]) -> Passage:
        speaker = segment.get("speaker_name") or segment.get("speaker")
        return cls(
            session_id=session_id,
            session_title=session_title,
            segment_id=str(segment["segment_id"]),
            start_ms=int(segment["start_ms"]),
            end_ms=int(segment.get("end_ms") or segment["start_ms"]),
            speaker=str(speaker) if speaker else None,
            text=str(segment["text"]),
            session_date=segment.get("session_date"),
        )

    def line(self, number: int, *, titled: bool = False) -> str:
        where = f'"{self.session_title}" ' if titled else ""
        return f"[{number}] {where}[{short_time(self.start_ms)}] {self.speaker or 'Speaker'}: {self.text}"


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str, *, drop_question_words: bool = False) -> list[str]:
    """Lower-case word stems without stop words; CJK text (no spaces between words) as
    overlapping pairs of characters."""
    out: list[str] = []
    for token in re.findall(r"[^\W_]+", text.lower()):
        if CJK.search(token):
            chars = [c for c in token if CJK.match(c)]
            out += [a + b for a, b in pairwise(chars)] or chars
            continue
        if len(token) < 2 or token in STOPWORDS or (drop_question_words and token in QUESTION_WORDS):
            continue
        out.append(_stem(token))
    return out


def query_terms(question: str) -> list[str]:
    """What a question asks about, most specific (longest) terms first, at most a dozen."""
    unique = list(dict.fromkeys(terms(question, drop_question_words=True)))
    return sorted(unique, key=lambda t: -len(t))[:MAX_QUERY_TERMS]


def question_terms(question: str) -> tuple[list[str], list[str]]:
    """(words for the full-text index, fragments of unspaced scripts matched as substrings)."""
    found = query_terms(question)
    fragments = [t for t in found if CJK.search(t)]
    return [t for t in found if t not in fragments], fragments


def scores(question: list[str], passages: Sequence[Passage]) -> list[float]:
    """How well each passage matches the question's terms: the rarer a term among the passages,
    the more it counts (IDF), each term once per passage."""
    if not question or not passages:
        return [0.0] * len(passages)
    bags = [set(terms(p.text)) | set(terms(p.speaker or "")) for p in passages]
    wanted = set(question)
    frequency = Counter(t for bag in bags for t in bag & wanted)
    idf = {t: math.log(1 + len(passages) / frequency[t]) for t in frequency}
    return [sum(idf[t] for t in bag & wanted) for bag in bags]


def ranked(question: str, passages: Sequence[Passage], limit: int) -> list[Passage]:
    """The passages that match the question best, best first (at most ``limit``, none that
    shares no term with it)."""
    found = scores(query_terms(question), passages)
    top = sorted((i for i, s in enumerate(found) if s > 0), key=lambda i: (-found[i], i))[:limit]
    return [passages[i] for i in top]


def best_matches(question: str, passages: Sequence[Passage], limit: int) -> list[Passage]:
    """:func:`ranked`, in the order the passages were given (the order they were said)."""
    place = {id(p): i for i, p in enumerate(passages)}
    return sorted(ranked(question, passages, limit), key=lambda p: place[id(p)])


def within_budget(question: str, passages: Sequence[Passage], budget_tokens: int) -> list[Passage]:
    """All passages when they fit the model's budget; else the best-matching ones with the lines
    around them, then the most recent, until the budget is used (in the order they were said)."""
    cost = [estimate_tokens(p.line(len(passages))) for p in passages]
    if sum(cost) <= budget_tokens:
        return list(passages)
    ranked = scores(query_terms(question), passages)
    order = sorted(range(len(passages)), key=lambda i: (-ranked[i], -i))
    chosen: set[int] = set()
    used = 0
    for i in order:
        for j in (i, i - 1, i + 1) if ranked[i] > 0 else (i,):
            if 0 <= j < len(passages) and j not in chosen and used + cost[j] <= budget_tokens:
                chosen.add(j)
                used += cost[j]
        if used >= budget_tokens:
            break
    return [passages[i] for i in sorted(chosen)]


def numbered(passages: Iterable[Passage]) -> dict[int, Passage]:
    return dict(enumerate(passages, 1))


MARKER = re.compile(r"\[(\d{1,4}(?:\s*[,;\u2013-]\s*\d{1,4})*)\]")
MAYBE_MARKER = re.compile(r"\[[\d\s,;\u2013-]{0,40}")
MAX_RANGE = 20


def _numbers(inside: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", inside.strip()):
        bounds = [int(b) for b in re.split(r"\s*[\u2013-]\s*", part) if b]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= MAX_RANGE:
            out += range(bounds[0], bounds[1] + 1)
        else:
            out += bounds
    return out


class CitationFilter:
    """Rewrites a model's answer as it streams: ``[n]`` markers naming a line of the prompt become
    ``[k]``, k the citation's place in :attr:`cited`; markers naming no line are dropped, with the
    space before them. A piece that may be the start of a marker is held back until it is known,
    and so is trailing space; the text has no space at either end."""

    def __init__(self, lines: dict[int, Passage]) -> None:
        self.lines = lines
        self.order: list[int] = []
        self.buffer = ""
        self.space = ""  # whitespace not written yet: it is dropped before a dropped marker and at the end
        self.started = False

    @property
    def cited(self) -> list[Passage]:
        return [self.lines[n] for n in self.order]

    def _rewrite(self, inside: str) -> str:
        refs = []
        for n in _numbers(inside):
            if n in self.lines:
                if n not in self.order:
                    self.order.append(n)
                ref = self.order.index(n) + 1
                if ref not in refs:
                    refs.append(ref)
        return "".join(f"[{r}]" for r in refs)

    def _text(self, text: str, out: list[str]) -> None:
        if not self.started:
            text = text.lstrip()
        words = text.rstrip()
        if words:
            out.append(self.space + words)
            self.space = text[len(words) :]
            self.started = True
        else:
            self.space += text

    def feed(self, text: str) -> str:
        self.buffer += text
        out: list[str] = []
        while self.buffer:
            start = self.buffer.find("[")
            if start < 0:
                self._text(self.buffer, out)
                self.buffer = ""
                break
            self._text(self.buffer[:start], out)
            self.buffer = self.buffer[start:]
            if match := MARKER.match(self.buffer):
                self.buffer = self.buffer[match.end() :]
                if rewritten := self._rewrite(match.group(1)):
                    self._text(rewritten, out)
                else:
                    self.space = ""
            elif MAYBE_MARKER.fullmatch(self.buffer):
                break  # wait for the rest
            else:
                self._text(self.buffer[0], out)
                self.buffer = self.buffer[1:]
        return "".join(out)

    def finish(self) -> str:
        out: list[str] = []
        self._text(self.buffer, out)
        self.buffer = self.space = ""
        return "".join(out)

    def rewrite(self, text: str) -> str:
        """A whole answer at once."""
        return self.feed(text) + self.finish()


def refs_to_passages(refs: Iterable[int], lines: dict[int, Passage]) -> list[Passage]:
    """The passages that numbers name, in order, once each; numbers naming no line are dropped."""
    return [lines[n] for n in dict.fromkeys(refs) if n in lines]
