"""Domain detection: which of the user's templates fits a session that has none.

The labels are the ``domain/category`` pairs of the templates the user may use (the system ones and
their own), plus ``other``; the model sees each with the template's name and description and the
beginning of the transcript, and answers ``{"label", "confidence"}``. A label outside the set, or an
answer that is not that JSON twice, counts as ``other`` with confidence 0 (what the model answered
is kept beside it). The label's
template in the session's language is chosen (the user's own before a system one; English, then any
language, when none is in it). Without a model there is no classification: the caller says so."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import Template
from api_service.llm import Completion, LLMConfig, complete
from api_service.summaries import _strip_fences, chunks, transcript_lines

OTHER = "other"
SYSTEM = (
    "You classify a meeting transcript by what kind of meeting it is. Choose exactly one label from this list "
    "(label: what it is):\n{labels}\n- other: none of the above\n"
    'Answer with one JSON object only: {{"label": "<one label from the list>", "confidence": <a number from 0 to 1>}}. '
    "Choose other when no label fits well."
)


def label_of(template: Template) -> str:
    return f"{template.domain}/{template.category}"


@dataclass
class Classification:
    label: str
    confidence: float
    model: str | None
    template: Template | None
    labels: list[str]
    answered: str | None = None  # the model's label, when it was not one of ``labels``
    calls: list[Completion] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """What the session keeps."""
        domain, _, category = self.label.partition("/")
        return {
            "label": self.label,
            "domain": domain,
            "category": category or None,
            "confidence": self.confidence,
            "template_id": self.template.id if self.template else None,
            "model": self.model,
            **({"answered": self.answered} if self.answered else {}),
        }


async def candidates(db: AsyncSession, user_id: str) -> list[Template]:
    statement = select(Template).where(or_(Template.user_id.is_(None), Template.user_id == user_id))
    return list((await db.execute(statement.order_by(Template.is_system, Template.name))).scalars())


def choose(templates: list[Template], language: str | None) -> dict[str, Template]:
    """One template per label: the session's language first, then English, then any; the user's
    own before a system one."""
    wanted = (language or "en").split("-")[0].lower()

    def rank(t: Template) -> tuple[int, int, str]:
        lang = (t.language or "").split("-")[0].lower()
        return (0 if lang == wanted else 1 if lang == "en" else 2, 1 if t.is_system else 0, t.name)

    chosen: dict[str, Template] = {}
    for t in sorted(templates, key=rank):
        chosen.setdefault(label_of(t), t)
    return chosen


def prompt(chosen: dict[str, Template], segments: list[dict[str, Any]], budget: int) -> list[dict[str, str]]:
    labels = "\n".join(f"- {label}: {t.name}" + (f" — {t.description}" if t.description else "") for label, t in chosen.items())
    opening = chunks(transcript_lines(segments), max(200, budget // 2))[0]  # the beginning says what a meeting is
    return [
        {"role": "system", "content": SYSTEM.format(labels=labels)},
        {"role": "user", "content": "Transcript:\n" + "\n".join(opening)},
    ]


def _read(text: str) -> tuple[str, float]:
    answer = json.loads(_strip_fences(text))
    if not isinstance(answer, dict) or not isinstance(answer.get("label"), str):
        raise ValueError('no "label" string')
    label = answer["label"].strip().lower()
    try:
        confidence = min(1.0, max(0.0, float(answer.get("confidence", 0))))
    except (TypeError, ValueError):
        confidence = 0.0
    return label, round(confidence, 3)


async def classify(
    config: LLMConfig, templates: list[Template], segments: list[dict[str, Any]], language: str | None
) -> Classification:
    chosen = choose(templates, language)
    allowed = {label.lower(): label for label in chosen}
    messages = prompt(chosen, segments, config.token_budget)
    calls: list[Completion] = []
    label, confidence, model, answered = OTHER, 0.0, None, None
    for attempt in range(2):
        completion = await complete(config, messages)
        calls.append(completion)
        model = completion.model
        try:
            label, confidence = _read(completion.text)
            break
        except (ValueError, TypeError) as exc:
            if attempt == 0:
                messages = [
                    *messages,
                    {"role": "assistant", "content": completion.text[:2000]},
                    {"role": "user", "content": f"That was not the JSON object asked for ({str(exc)[:200]}). Answer again."},
                ]
    if label != OTHER and label not in allowed:
        label, confidence, answered = OTHER, 0.0, label[:100]
    label = allowed.get(label, OTHER)
    return Classification(label, confidence, model, chosen.get(label), sorted(chosen), answered, calls)
