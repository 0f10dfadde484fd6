"""Transcript exports: SRT, WebVTT, JSON, Markdown and DOCX, with speaker names."""

from __future__ import annotations

import io
import re
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.text.paragraph import Paragraph
from markdown_it import MarkdownIt
from markdown_it.token import Token

from shared.timecode import short_time, subtitle_time


def _line(segment: dict[str, Any]) -> str:
    return f"{segment['speaker_name']}: {segment['text']}" if segment.get("speaker_name") else segment["text"]


def srt(segments: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{n}\n{subtitle_time(s['start_ms'], ',')} --> {subtitle_time(s['end_ms'], ',')}\n{_line(s)}\n"
        for n, s in enumerate(segments, 1)
    )


def vtt(segments: list[dict[str, Any]]) -> str:
    cues = []
    for s in segments:
        voice = f"<v {s['speaker_name']}>" if s.get("speaker_name") else ""
        cues.append(f"{subtitle_time(s['start_ms'], '.')} --> {subtitle_time(s['end_ms'], '.')}\n{voice}{s['text']}\n")
    return "WEBVTT\n\n" + "\n".join(cues)


def markdown(title: str, segments: list[dict[str, Any]], summary: str | None, extracted: str | None = None) -> str:
    """``extracted``: the extraction as Markdown (``extraction.to_markdown``), when there is one."""
    parts = [f"# {title}\n"]
    if summary:
        parts += ["## Summary\n", summary.strip() + "\n"]
    if extracted:
        parts += ["## Extracted fields\n", extracted.strip() + "\n"]
    parts.append("## Transcript\n")
    parts += [f"**[{short_time(s['start_ms'])}] {s.get('speaker_name') or 'Unknown'}:** {s['text']}  " for s in segments]
    return "\n".join(parts) + "\n"


# Characters XML 1.0 cannot hold (control characters other than tab and newlines, lone
# surrogates, U+FFFE/U+FFFF): python-docx refuses them, so a title or summary holding one would
# make the whole export fail.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


# CommonMark without raw HTML (written out as text): a summary is Markdown a model or a person wrote.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})
_TASK = re.compile(r"^\[( |x|X)\]\s+")


def markdown_html(text: str) -> str:
    """Markdown as HTML safe to put in a page: raw HTML is escaped, links with scripts refused
    (markdown-it's own link check); task boxes shown as ☐/☒."""
    rendered = _MARKDOWN.render(text)
    return re.sub(r"<li>(<p>)?\[( |x|X)\] ", lambda m: f"<li>{m.group(1) or ''}{'☐' if m.group(2) == ' ' else '☒'} ", rendered)


def _runs(paragraph: Paragraph, inline: Token) -> None:
    bold = italic = False
    first = True
    for child in inline.children or []:
        if child.type in ("strong_open", "strong_close"):
            bold = child.type == "strong_open"
        elif child.type in ("em_open", "em_close"):
            italic = child.type == "em_open"
        elif child.type in ("softbreak", "hardbreak"):
            paragraph.add_run().add_break()
        elif child.content:
            text = child.content
            if first and child.type == "text":
                text = _TASK.sub(lambda m: "☒ " if m.group(1).strip() else "☐ ", text)
            run = paragraph.add_run(text)
            run.bold, run.italic = bold or None, italic or None
            if child.type == "code_inline":
                run.font.name = "Courier New"
        first = False


def markdown_into(document: DocumentObject, text: str) -> None:
    """Markdown as Word formatting: headings, bulleted and numbered lists (task boxes as ☐/☒),
    quotes, bold, italics and code; never the Markdown marks themselves."""
    lists: list[str] = []
    quoted = 0
    heading: int | None = None
    for token in _MARKDOWN.parse(text):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append("List Number" if token.type == "ordered_list_open" else "List Bullet")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif token.type in ("blockquote_open", "blockquote_close"):
            quoted += 1 if token.type == "blockquote_open" else -1
        elif token.type == "heading_open":
            heading = 3 if int(token.tag[1]) <= 3 else 4  # under the export's own "Summary" (level 2)
        elif token.type == "inline":
            if heading is not None:
                paragraph = document.add_heading(level=heading)
                heading = None
            elif lists:
                paragraph = document.add_paragraph(style=lists[-1] if len(lists) == 1 else f"{lists[-1]} 2")
            else:
                paragraph = document.add_paragraph(style="Quote" if quoted else None)
            _runs(paragraph, token)
        elif token.type in ("fence", "code_block"):
            document.add_paragraph().add_run(token.content.rstrip("\n")).font.name = "Courier New"


def docx(
    title: str, segments: list[dict[str, Any]], summary: str | None, extracted: list[tuple[str, str]] | None = None
) -> bytes:
    """``extracted``: (label, value) of each extracted field, when there is an extraction."""
    document = Document()
    document.add_heading(_xml(title), level=1)
    if summary:
        document.add_heading("Summary", level=2)
        markdown_into(document, _xml(summary))
    if extracted:
        document.add_heading("Extracted fields", level=2)
        for label, value in extracted:
            paragraph = document.add_paragraph(style="List Bullet")
            paragraph.add_run(_xml(f"{label}: ")).bold = True
            paragraph.add_run(_xml(value))
    document.add_heading("Transcript", level=2)
    for s in segments:
        paragraph = document.add_paragraph()
        paragraph.add_run(_xml(f"[{short_time(s['start_ms'])}] {s.get('speaker_name') or 'Unknown'}: ")).bold = True
        paragraph.add_run(_xml(s["text"]))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
