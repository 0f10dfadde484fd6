"""Live captions as people read them, on real speech through the STT service's `/v1/stream` at
real-time pace (Whisper base), under each endpointing setting of SETTINGS.

Real speech with sentence references first (`REAL_SENTENCES` in tests/speech.py: JFK's inaugural
excerpt, read speech; pyannote's phone call, conversation, as recorded and cut into its speaker
turns 2 s apart as `bench/peers.py` plays it), one stream at a time: finals per
spoken sentence (reference sentences counted by terminal punctuation), finals under three words
where the speaker said more, the WER of all finals against the reference and of the same clip
sent whole to `/transcribe` (the live vs file gap), and the lag from the end of a final's last
word to its arrival. Then the six AMI meeting excerpts of the dev set (`../shared/devset/`,
far-field, several people on one channel; no reference words here), all at once: finals, finals
under three words, words per final, partials that are not words, lag.

Settings alternate over ROUNDS (a fresh service each time), so background load on a shared
machine falls on each alike. Counts and WER are means over the rounds (they vary a little with
load: whether a pause's early decode runs, and which clips share a batch), lags are pooled."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import numpy as np

from bench.common import pct, running_service, write_results
from bench.stt import post, stream_realtime
from shared.audio import decode_audio
from tests.speech import (
    DEVSET,
    REAL_SENTENCES,
    Caption,
    ReferenceTurn,
    Utterance,
    caption_score,
    phone_call_turns,
    silence,
    stm_utterances,
    wer,
    words,
)

Clip = tuple[str, np.ndarray, Sequence[ReferenceTurn | Utterance]]  # name, audio, what was said when

# name → the service's environment: the endpointing before sentence-aware finals, and the defaults.
BEFORE = {"STT_PHRASE_HOLD_MS": "0", "STT_PHRASE_END_ON_PUNCTUATION": "false", "STT_UTTERANCE_PREROLL_MS": "200"}
SETTINGS: dict[str, dict[str, str]] = {"before (no clause hold, no punctuation ends, 200 ms pre-roll)": BEFORE, "default": {}}
ROUNDS = 2
LEAD_S, TAIL_S = 1.0, 3.0  # silence before and after each real clip


async def stream(url: str, auth: dict[str, str], audio: np.ndarray) -> tuple[list[dict[str, Any]], list[str], list[float]]:
    """One real-time stream: its finals, its partials' texts, and each final's lag (from the end
    of its last word to its arrival)."""
    messages = await stream_realtime(url, auth, audio)
    finals = [(at, b) for at, b in messages if b["type"] == "final" and b["text"].strip()]
    partials = [b["text"] for _at, b in messages if b["type"] == "partial" and b["text"].strip()]
    lags = [at - b["words"][-1]["end_ms"] / 1000 for at, b in finals if b["words"]]
    return [b for _at, b in finals], partials, lags


def real_clips() -> list[Clip]:
    clips: list[Clip] = [(name, decode_audio(audio.read_bytes()), stm_utterances(stm)) for name, audio, stm in REAL_SENTENCES]
    audio, turns = phone_call_turns(repeats=2, gap_s=2.0, lead_s=1.0, tail_s=0.0)  # as bench/peers plays it
    return [*clips, (f"conversation: phone call, {len(turns)} turns 2 s apart", audio, turns)]


async def one_setting(env: dict[str, str], real: list[Clip], ami: list[np.ndarray]) -> dict[str, Any]:
    with running_service("stt_service", "STT_PORT", env) as (url, auth, _pid):
        real_runs = [await stream(url, auth, np.concatenate([silence(LEAD_S), audio, silence(TAIL_S)])) for _n, audio, _r in real]
        async with httpx.AsyncClient(timeout=600) as client:  # the same clips sent whole
            files = [str((await post(client, url, auth, audio))[1]["text"]) for _n, audio, _r in real]
        ami_runs = await asyncio.gather(*(stream(url, auth, audio) for audio in ami))
    clips = []
    for (name, _audio, reference), (finals, _partials, lags), whole in zip(real, real_runs, files, strict=True):
        captions = [Caption(f["start_ms"] / 1000 - LEAD_S, f["end_ms"] / 1000 - LEAD_S, f["text"]) for f in finals]
        score = caption_score(reference, captions)
        clips.append(
            {
                "clip": name,
                "sentences": score.sentences,
                "finals": score.finals,
                "finals_per_sentence": score.finals_per_sentence,
                "finals_under_3_words": score.short_finals,
                "live_wer": round(score.wer, 4),
                "file_wer": round(wer(" ".join(t.text for t in reference), whole), 4),
                "lags_s": [round(lag, 3) for lag in lags],
                "finals_text": [c.text for c in captions],
                "file_text": whole,
            }
        )
    ami_finals = [final["text"] for run, _p, _l in ami_runs for final in run]
    partials = [text for _f, p, _l in ami_runs for text in p]
    counts = [words(text) for text in ami_finals]
    return {
        "env": env,
        "real": clips,
        "ami": {
            "finals": len(ami_finals),
            "finals_under_3_words": sum(n < 3 for n in counts),
            "words_per_final": round(sum(counts) / max(1, len(counts)), 1),
            "partials": len(partials),
            "partials_not_words": sum(words(text) == 0 for text in partials),
            "lags_s": [round(lag, 3) for _f, _p, lags in ami_runs for lag in lags],
            "finals_text": [[f["text"] for f in run] for run, _p, _l in ami_runs],
        },
    }


def pooled(runs: list[dict[str, Any]], pick: Callable[[dict[str, Any]], Any], form: str = "{:.3g}") -> str:
    """Over the rounds: the mean of a count or rate, or the p50 / p95 of lags (lists)."""
    values = [pick(run) for run in runs]
    if isinstance(values[0], list):
        lags = [x for v in values for x in v]
        return f"{pct(lags, 50)} / {pct(lags, 95)}"
    return form.format(float(np.mean(values)))


def real_field(i: int, key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda run: run["real"][i][key]


def table(runs: dict[str, list[dict[str, Any]]]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    clips = [c["clip"] for c in next(iter(runs.values()))[0]["real"]]
    for i, clip in enumerate(clips):
        for name, setting in runs.items():
            at = functools.partial(real_field, i)
            sentences = setting[0]["real"][i]["sentences"]
            rows.append(
                (
                    f"{clip} ({sentences} sentences), {name}",
                    pooled(setting, at("finals")),
                    pooled(setting, at("finals_per_sentence")),
                    pooled(setting, at("finals_under_3_words")),
                    f"{pooled(setting, at('live_wer'), '{:.1%}')} / {pooled(setting, at('file_wer'), '{:.1%}')}",
                    pooled(setting, at("lags_s")),
                    "",
                )
            )
    for name, setting in runs.items():
        rows.append(
            (
                f"AMI dev set, 6 excerpts at once (no reference words), {name}",
                pooled(setting, lambda run: run["ami"]["finals"]),
                pooled(setting, lambda run: run["ami"]["words_per_final"]) + " words per final",
                pooled(setting, lambda run: run["ami"]["finals_under_3_words"]),
                "",
                pooled(setting, lambda run: run["ami"]["lags_s"]),
                f"{setting[0]['ami']['partials_not_words']} of {setting[0]['ami']['partials']}",
            )
        )
    return rows


HEADER = (
    "live captions on real speech (mean of the rounds)",
    "finals",
    "finals per spoken sentence",
    "finals under 3 words (speaker said more)",
    "WER live / file",
    "lag p50 / p95, last word → final (s)",
    "partials with no word",
)


def main() -> None:
    real = real_clips()
    ami = [decode_audio(wav.read_bytes()) for wav in sorted(DEVSET.glob("*.wav"))]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SETTINGS}
    for _round in range(ROUNDS):
        for name, env in SETTINGS.items():
            runs[name].append(asyncio.run(one_setting(env, real, ami)))
            scores = [(c["clip"], c["finals_per_sentence"], c["live_wer"], c["file_wer"]) for c in runs[name][-1]["real"]]
            print(name, scores, flush=True)
    write_results("captions", {"settings": SETTINGS, "rounds": ROUNDS, "runs": runs}, table(runs), HEADER)
