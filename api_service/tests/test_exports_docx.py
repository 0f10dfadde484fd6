"""A summary in a DOCX export is Word formatting, and on a page HTML, never Markdown marks."""

from __future__ import annotations

import io

import docx as python_docx
import pytest

from api_service.exports import docx, markdown_html
from api_service.summaries import extractive, to_markdown
from api_service.tests.test_digest import MEETING

pytestmark = pytest.mark.unit


def test_a_summary_becomes_headings_lists_and_emphasis() -> None:
    summary = to_markdown(extractive(MEETING, "en").content) + "\n1. first **bold** and *slanted*\n2. second\n\n<b>raw</b>\n"
    document = python_docx.Document(io.BytesIO(docx("Budget", MEETING[:1], summary)))
    paragraphs = [(p.style.name if p.style else "", p.text) for p in document.paragraphs]
    assert ("Heading 3", "Action items") in paragraphs and ("Heading 3", "Decisions") in paragraphs
    assert (
        "List Bullet",
        "☐ I'll send the updated budget spreadsheet to everyone by Friday. — Bob (due by Friday)",
    ) in paragraphs
    assert ("List Number", "first bold and slanted") in paragraphs
    assert paragraphs[2][0] == "Quote" and "not an AI summary" in paragraphs[2][1]
    assert ("Normal", "<b>raw</b>") in paragraphs  # HTML is text, not markup
    bold = [r.text for p in document.paragraphs for r in p.runs if r.bold]
    assert "bold" in bold
    for _style, text in paragraphs:
        assert not text.startswith(("#", "- ", "> ", "[ ]")) and "**" not in text, text


def test_a_summary_as_html_escapes_markup_and_refuses_script_links() -> None:
    html = markdown_html("### Plan\n- [ ] ship <script>alert(1)</script>\n- [x] done\n\n[click](javascript:alert(1))")
    assert "<h3>Plan</h3>" in html and "<li>☐ ship &lt;script&gt;" in html and "<li>☒ done</li>" in html
    assert "<script>" not in html and "href" not in html
