"""Request language tags → what the engine needs, and the Chinese script the caller asked for.

Whisper often answers Mandarin in traditional characters; a simplified-Chinese user counts that as
wrong, so Chinese output is converted with OpenCC to the script the tag names (zh-CN simplified,
zh-TW/zh-HK traditional; plain "zh" or a detected language uses STT_CHINESE_SCRIPT)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import opencc

TRADITIONAL_REGIONS = {"tw": "s2twp", "hk": "s2hk", "mo": "s2hk", "hant": "s2t"}
SIMPLIFIED_REGIONS = {"cn", "sg", "my", "hans"}
ALIASES = {"cmn": "zh", "yue": "yue", "chinese": "zh", "english": "en", "mandarin": "zh"}


class UnsupportedLanguage(ValueError):
    pass


@dataclass(frozen=True)
class LanguageRequest:
    code: str | None  # ISO 639-1 for the engine; None = detect
    chinese_conversion: str | None  # OpenCC config applied when the result is Chinese


def parse_language(tag: str | None, *, supported: list[str], default_script: str) -> LanguageRequest:
    default_conversion = "t2s" if default_script == "simplified" else "s2t"
    if not tag or tag.lower() in {"auto", "detect"}:
        return LanguageRequest(None, default_conversion)
    parts = tag.replace("_", "-").lower().split("-")
    code = ALIASES.get(parts[0], parts[0])
    if code not in supported:
        raise UnsupportedLanguage(f"language {tag!r} is not supported by this model; supported: {', '.join(sorted(supported))}")
    conversion = default_conversion
    for region in parts[1:]:
        if region in TRADITIONAL_REGIONS:
            conversion = TRADITIONAL_REGIONS[region]
        elif region in SIMPLIFIED_REGIONS:
            conversion = "t2s"
    return LanguageRequest(code, conversion)


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def convert_chinese(text: str, conversion: str | None) -> str:
    return _converter(conversion).convert(text) if conversion and text else text
