"""Minutes without a language model: sentences taken from the transcript, never written.

- Every sentence appears at most once in the whole digest (and no two that say nearly the same).
- An action item is only a sentence in which a speaker commits to doing something ("I'll send the
  report by Friday", "我来准备材料"), one that asks someone to ("Bob, can you check the numbers?",
  "please review it by Monday"), or one that says it is an action item. "It will rain" is not.
- A decision is only a sentence that says one was taken ("we agreed…", "let's go with…", "决定…").
- A template's headings are filled by what they ask for: action items, decisions, questions, the
  summary or the discussion; any other heading gets the sentences that share its words, or says
  that nothing in the transcript matched it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from api_service.passages import query_terms, terms

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
SUMMARY_SENTENCES = 2
KEY_POINTS = 5
PER_HEADING = 4
MAX_ACTIONS = 20
NEAR_DUPLICATE = 0.7  # share of words two sentences have in common for one to repeat the other
NOTHING_MATCHED = "Nothing in the transcript matched this heading."

_DAY = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight"
DUE = re.compile(
    rf"\b(?:(?:by|before|until|on)\s+)?(?:(?:next\s+)?(?:{_DAY})|next\s+(?:week|month)|this\s+(?:afternoon|evening|week)"
    r"|(?:the\s+)?end\s+of\s+(?:the\s+)?(?:day|week|month|quarter))\b"
    r"|(?:明天|后天|下周[一二三四五六日天]?|周[一二三四五六日天]|月底|本周)(?:之前|前)?",
    re.I,
)
# A speaker committing: "I'll …", "we are going to …", "let me …", followed by what they will do
# (not "I'll be honest", "we'll see", "let me think").
_NOT_A_TASK = r"(?:see|hear|say|admit|guess|think|bet|wonder|assume|be|tell\s+you|ask|repeat|explain\s+why)\b"
_NOT_A_NAME = r"(?:so|ok|okay|well|yes|yeah|and|but|now|then|right|also|actually|hey|hi|sorry|alright|great|sure)\b"
COMMITMENT = re.compile(
    r"\b(?P<who>i|we)\s*(?:will|'ll|’ll|am\s+going\s+to|'m\s+going\s+to|are\s+going\s+to|'re\s+going\s+to|need\s+to|have\s+to)"
    rf"\s+(?!{_NOT_A_TASK})\w+"
    rf"|\blet\s+me\s+(?!{_NOT_A_TASK})\w+"
    r"|(?P<zh_who>我们|我)(?:会|来|负责|去|要)[\u4e00-\u9fff]",
    re.I,
)
# Someone asked to do something: "Bob, can you …", "please send …" ("can you hear me?" is not;
# other questions only with a name or a deadline).
REQUEST = re.compile(
    rf"^(?:(?!{_NOT_A_NAME})(?P<name>(?-i:[A-Z])[\w'-]+),\s*)?(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|please\s+)"
    rf"(?!{_NOT_A_TASK})\w+"
    r"|请(?P<zh_name>[\u4e00-\u9fff]{1,3})?(?:负责|处理|准备|发|跟进|确认)",
    re.I,
)
SAYS_ACTION = re.compile(r"\baction\s+items?\b|\bto-?do\b|待办|行动项", re.I)
DECISION = re.compile(
    r"\bwe(?:'ve|\s+have)?\s+(?:decided|agreed)\b|\b(?:it's|it\s+is)\s+decided\b|\blet'?s\s+go\s+with\b"
    r"|\bwe(?:'ll|\s+will)\s+go\s+with\b|\bagreed\b|决定|同意|定了|就这么",
    re.I,
)

HeadingKind = Literal["actions", "decisions", "questions", "summary", "discussion", "other"]
_KINDS: list[tuple[HeadingKind, re.Pattern[str]]] = [
    ("actions", re.compile(r"action|follow[- ]?ups?|next\s+steps?|to-?dos?|tasks?|待办|行动|跟进|后续", re.I)),
    ("decisions", re.compile(r"decision|决定|决议", re.I)),
    ("questions", re.compile(r"question|risk|concern|blocker|问题|疑问|风险|阻碍", re.I)),
    ("summary", re.compile(r"summary|overview|概要|摘要|总结|概述", re.I)),
    ("discussion", re.compile(r"discussion|topics?|updates?|key\s+points?|highlights|讨论|要点|议题|进展", re.I)),
]


def heading_kind(title: str) -> HeadingKind:
    """What a template heading asks for, by its words."""
    for kind, pattern in _KINDS:
        if pattern.search(title):
            return kind
    return "other"


@dataclass(frozen=True)
class Sentence:
    text: str
    segment: dict[str, Any]

    @property
    def speaker(self) -> str | None:
        name = self.segment.get("speaker_name") or self.segment.get("speaker")
        return str(name) if name else None

    @property
    def is_question(self) -> bool:
        return self.text.endswith(("?", "？"))


@dataclass(frozen=True)
class Action:
    sentence: Sentence
    owner: str | None
    due: str | None


@dataclass
class Digest:
    summary: list[Sentence] = field(default_factory=list)
    key_points: list[Sentence] = field(default_factory=list)
    decisions: list[Sentence] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    sections: list[tuple[str, list[Sentence]]] = field(default_factory=list)


def sentences_of(segments: list[dict[str, Any]]) -> list[Sentence]:
    return [Sentence(text.strip(), s) for s in segments for text in SENTENCE_END.split(s["text"]) if text.strip()]


def action(sentence: Sentence) -> Action | None:
    """The sentence as an action item, or None when it is not one."""
    text = sentence.text
    due = DUE.search(text)
    due_text = due.group(0).strip() if due else None
    request = REQUEST.search(text)
    if request and (not sentence.is_question or due or request.group("name")):
        return Action(sentence, request.group("name") or request.group("zh_name"), due_text)
    commitment = COMMITMENT.search(text)
    if commitment and not sentence.is_question:
        first_person = (commitment.group("who") or "").lower() == "i" or commitment.group("zh_who") == "我"
        owner = sentence.speaker if first_person or text.lower().startswith("let me") else None
        return Action(sentence, owner, due_text)
    if SAYS_ACTION.search(text) and len(terms(text)) >= 3:
        return Action(sentence, None, due_text)
    return None


class _Picker:
    """Hands out each sentence once, and none that nearly repeats one already handed out."""

    def __init__(self) -> None:
        self.taken: list[set[str]] = []

    def free(self, sentence: Sentence) -> bool:
        words = set(terms(sentence.text))
        if not words:
            return False
        return all(len(words & t) / min(len(words), len(t)) < NEAR_DUPLICATE for t in self.taken)

    def take(self, sentence: Sentence) -> None:
        self.taken.append(set(terms(sentence.text)))


def digest(segments: list[dict[str, Any]], headings: list[dict[str, Any]] | None = None) -> Digest:
    everything = sentences_of(segments)
    substantive = [s for s in everything if len(terms(s.text, drop_question_words=True)) >= 3]
    frequency = Counter(w for s in substantive for w in set(terms(s.text)))

    def representative(sentence: Sentence) -> float:
        words = terms(sentence.text)
        return sum(frequency[w] for w in words) / (len(words) + 3)

    picker = _Picker()
    out = Digest()

    def pick(candidates: list[Sentence], limit: int) -> list[Sentence]:
        chosen: list[Sentence] = []
        for s in candidates:
            if len(chosen) < limit and picker.free(s):
                picker.take(s)
                chosen.append(s)
        return chosen

    by_place = {id(s): i for i, s in enumerate(everything)}

    def in_order(chosen: list[Sentence]) -> list[Sentence]:
        return sorted(chosen, key=lambda s: by_place[id(s)])

    actions = {id(s): a for s in everything if (a := action(s))}
    out.actions = [actions[id(s)] for s in pick([s for s in everything if id(s) in actions], MAX_ACTIONS)]
    out.decisions = pick([s for s in everything if not s.is_question and DECISION.search(s.text)], PER_HEADING * 2)
    ranked = sorted(substantive, key=lambda s: (-representative(s), by_place[id(s)]))
    out.summary = in_order(pick(ranked, SUMMARY_SENTENCES))

    for heading in headings or []:
        title = str(heading.get("title", ""))
        kind = heading_kind(title)
        if kind == "actions":
            filled = [a.sentence for a in out.actions]
        elif kind == "decisions":
            filled = out.decisions
        elif kind == "summary":
            filled = out.summary
        elif kind == "questions":
            filled = in_order(pick([s for s in substantive if s.is_question], PER_HEADING))
        elif kind == "discussion":
            filled = in_order(pick(ranked, PER_HEADING))
        else:
            wanted = set(query_terms(f"{title} {heading.get('instruction', '')}"))
            matching = sorted(
                (s for s in substantive if wanted & set(terms(s.text))),
                key=lambda s: (-len(wanted & set(terms(s.text))), by_place[id(s)]),
            )
            filled = in_order(pick(matching, PER_HEADING))
        out.sections.append((title, filled))
    if not headings:
        out.key_points = in_order(pick(ranked, KEY_POINTS))
    return out
