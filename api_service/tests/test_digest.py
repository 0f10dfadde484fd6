"""Minutes without a model: each sentence once, action items only where someone commits or is
asked, a template's headings filled by what they ask for."""

from __future__ import annotations

from typing import Any

import pytest

from api_service import digest
from api_service.summaries import extractive, to_markdown
from api_service.templates_seed import SYSTEM_TEMPLATES

pytestmark = pytest.mark.unit


def said(*lines: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"segment_id": f"s{n}", "speaker_name": who, "start_ms": n * 5000, "end_ms": n * 5000 + 4000, "text": text}
        for n, (who, text) in enumerate(lines)
    ]


MEETING = said(
    ("Alice", "The quarterly budget review moves to Thursday because the finance numbers are late."),
    ("Bob", "The finance numbers are late because the new invoicing system is still importing."),
    ("Alice", "The finance numbers are late because the new invoicing system is still importing."),
    ("Bob", "I think it will rain tomorrow, so the offsite dinner should be indoors."),
    ("Alice", "We agreed to keep the marketing budget flat for the next quarter."),
    ("Bob", "I'll send the updated budget spreadsheet to everyone by Friday."),
    ("Alice", "Carol, can you check the invoicing import logs?"),
    ("Bob", "Can you hear me? We'll see. Let me think about it."),
    ("Alice", "What happens if the import is not finished by Thursday?"),
    ("Bob", "The budget spreadsheet covers hiring, travel and the offsite dinner costs."),
)


def texts(sentences: list[digest.Sentence]) -> list[str]:
    return [s.text for s in sentences]


@pytest.mark.parametrize(
    ("text", "owner", "due"),
    [
        ("I'll send the updated spreadsheet by Friday.", "Bob", "by Friday"),
        ("I am going to draft the proposal next week.", "Bob", "next week"),
        ("Let me check the deployment logs.", "Bob", None),
        ("We will migrate the database before the end of the month.", None, "before the end of the month"),
        ("Carol, can you check the numbers?", "Carol", None),
        ("Please review the contract by Monday.", None, "by Monday"),
        ("This is an action item for the design team to review.", None, None),
        ("我来准备下周的材料。", "Bob", "下周"),
        ("请小王负责测试。", "小王", None),
    ],
)
def test_what_is_an_action_item(text: str, owner: str | None, due: str | None) -> None:
    found = digest.action(digest.Sentence(text, {"speaker_name": "Bob"}))
    assert found is not None and found.owner == owner and found.due == due


@pytest.mark.parametrize(
    "text",
    [
        "It will rain tomorrow.",
        "I think the release will slip.",
        "We'll see.",
        "I'll be honest, the numbers look bad.",
        "Let me think about it.",
        "Can you hear me?",
        "So, can you see my screen?",
        "Will we finish on time?",
        "The team needs more time.",
    ],
)
def test_what_is_not_an_action_item(text: str) -> None:
    assert digest.action(digest.Sentence(text, {"speaker_name": "Bob"})) is None


def test_no_sentence_is_said_twice_and_only_commitments_are_action_items() -> None:
    result = extractive(MEETING, "en")
    content = result.content
    assert [a.text for a in content.action_items] == [
        "I'll send the updated budget spreadsheet to everyone by Friday.",
        "Carol, can you check the invoicing import logs?",
    ]
    assert content.action_items[0].owner == "Bob" and content.action_items[0].due == "by Friday"
    assert content.action_items[0].segment_ids == ["s5"]
    assert content.decisions == ["We agreed to keep the marketing budget flat for the next quarter."]
    markdown = to_markdown(content)
    lines = [
        line.removeprefix("- [ ] ").removeprefix("- ").split(" — ")[0]
        for line in markdown.splitlines()
        if line.strip() and not line.startswith(("#", ">"))
    ]
    body = " ".join(lines)
    for sentence in digest.sentences_of(MEETING):
        assert body.count(sentence.text) <= 1, sentence.text
    assert "finance numbers are late because the new invoicing" in body  # said twice, written once
    assert "rain" not in " ".join(a.text for a in content.action_items)
    assert "not an AI summary" in (content.note or "")


@pytest.mark.parametrize("template", [t for t in SYSTEM_TEMPLATES if t["language"] == "en"], ids=lambda t: t["name"])
def test_a_templates_headings_are_filled_from_the_transcript_and_nothing_repeats(template: dict[str, Any]) -> None:
    content = extractive(MEETING, "en", template["sections"]).content
    assert [s.title for s in content.sections] == [s["title"] for s in template["sections"]]
    markdown = to_markdown(content)
    headings = [line[4:] for line in markdown.splitlines() if line.startswith("### ")]
    assert headings[-len(template["sections"]) :] == [s["title"] for s in template["sections"]]
    assert len({digest.heading_kind(h) for h in headings} - {"other"}) == len(
        [h for h in headings if digest.heading_kind(h) != "other"]
    )
    said_lines = {s.text for s in digest.sentences_of(MEETING)}
    seen: list[str] = []
    for line in markdown.splitlines():
        if not line.startswith(("- ", "- [ ] ")):
            continue
        text = line.removeprefix("- [ ] ").removeprefix("- ").split(" — ")[0]
        assert text in said_lines, text
        seen.append(text)
    assert seen and len(seen) == len(set(seen))


def test_headings_by_what_they_ask_for() -> None:
    sections = [
        {"title": "Action items", "instruction": "Task, owner, due date."},
        {"title": "Risks and open questions", "instruction": ""},
        {"title": "Offsite", "instruction": "Anything about the offsite dinner."},
        {"title": "Security incidents", "instruction": "Breaches and outages."},
    ]
    content = extractive(MEETING, "en", sections).content
    by_title = {s.title: s.content for s in content.sections}
    assert by_title["Action items"].splitlines()[0] == "- I'll send the updated budget spreadsheet to everyone by Friday."
    assert (
        "### Action items\n- [ ] I'll send the updated budget spreadsheet to everyone by Friday. — Bob (due by Friday)\n"
        in to_markdown(content)
    )
    assert by_title["Risks and open questions"] == "- What happens if the import is not finished by Thursday?"
    assert "offsite dinner" in by_title["Offsite"]
    assert by_title["Security incidents"] == digest.NOTHING_MATCHED


def test_an_empty_transcript() -> None:
    content = extractive([], "en", SYSTEM_TEMPLATES[0]["sections"]).content
    assert content.summary == "The transcript is empty." and not content.action_items
    assert all(s.content == digest.NOTHING_MATCHED for s in content.sections)
