"""Live captions as people read them, on real speech: the six AMI meeting excerpts of the dev set
(`../shared/devset/`, far-field, several people on one channel) streamed at once through the STT
service's `/v1/stream` at real-time pace, with fragment merging off (`STT_FINAL_MERGE_MS=0`) and
at its default. Reported: finals, finals under three words, words per final, partials that are
not words. (The AMI excerpts have no reference words here: WER is scored in `bench/stt.py` and
`bench/live.py`.)"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from bench.common import running_service, write_results
from bench.stt import stream_realtime
from shared.audio import decode_audio
from tests.speech import DEVSET

SETTINGS = {"off": "0", "default (1000 ms)": "1000"}


def words(text: str) -> int:
    return sum(any(c.isalpha() for c in word) for word in text.split())


async def stream(url: str, auth: dict[str, str], audio: np.ndarray) -> tuple[list[str], list[str]]:
    """The finals' and the partials' texts of one real-time stream."""
    messages = [body for _at, body in await stream_realtime(url, auth, audio)]
    texts = {kind: [b["text"] for b in messages if b["type"] == kind and b["text"].strip()] for kind in ("final", "partial")}
    return texts["final"], texts["partial"]


async def one_setting(merge_ms: str, recordings: list[np.ndarray]) -> dict[str, Any]:
    with running_service("stt_service", "STT_PORT", {"STT_FINAL_MERGE_MS": merge_ms}) as (url, auth, _pid):
        results = await asyncio.gather(*(stream(url, auth, audio) for audio in recordings))
    finals = [text for f, _p in results for text in f]
    partials = [text for _f, p in results for text in p]
    counts = [words(text) for text in finals]
    return {
        "merge_ms": int(merge_ms),
        "finals": len(finals),
        "finals_under_3_words": sum(n < 3 for n in counts),
        "words_per_final": round(sum(counts) / max(1, len(counts)), 1),
        "partials": len(partials),
        "partials_not_words": sum(words(text) == 0 for text in partials),
        "finals_text": [f for f, _p in results],
    }


def main() -> None:
    recordings = [decode_audio(wav.read_bytes()) for wav in sorted(DEVSET.glob("*.wav"))]
    results = {name: asyncio.run(one_setting(value, recordings)) for name, value in SETTINGS.items()}
    table = [
        (
            f"AMI dev set, {len(recordings)} excerpts at once, merging {name}",
            r["finals"],
            r["finals_under_3_words"],
            r["words_per_final"],
            f"{r['partials_not_words']} of {r['partials']}",
        )
        for name, r in results.items()
    ]
    header = ("live captions on real meetings", "finals", "finals under 3 words", "words per final", "partials with no word")
    write_results("captions", {"results": results}, table, header)
