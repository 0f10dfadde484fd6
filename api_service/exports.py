"""Transcript exports: SRT, WebVTT, JSON, Markdown and DOCX, with speaker names."""

from __future__ import annotations

import io
import re
from typing import Any

from docx import Document

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


def docx(
    title: str, segments: list[dict[str, Any]], summary: str | None, extracted: list[tuple[str, str]] | None = None
) -> bytes:
    """``extracted``: (label, value) of each extracted field, when there is an extraction."""
    document = Document()
    document.add_heading(_xml(title), level=1)
    if summary:
        document.add_heading("Summary", level=2)
        for block in _xml(summary).strip().split("\n\n"):
            document.add_paragraph(block)
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
