"""How times (ms from the session start) are written in subtitles, exports and prompts."""

from __future__ import annotations


def subtitle_time(ms: int, separator: str) -> str:
    """``HH:MM:SS,mmm`` (SRT, separator ",") or ``HH:MM:SS.mmm`` (WebVTT, separator ".")."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def short_time(ms: int) -> str:
    """``mm:ss`` (``h:mm:ss`` past an hour), for transcripts people and models read."""
    minutes, seconds = divmod(ms // 1000, 60)
    return f"{minutes:02d}:{seconds:02d}" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"
