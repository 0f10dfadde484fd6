"""Speaker attribution for batch transcripts, WhisperX-style: every word takes the speaker whose
(exclusive) turn overlaps it most — the audio is never cut per turn and re-transcribed. A
diarization boundary is a few hundred ms off as often as not, so a sentence's first or last word
can land in the neighbour's turn: within a sentence, a stretch of another speaker shorter than a
real turn goes to the sentence's own speaker. Segments are then rebuilt from the words: a new
segment at each change of speaker, at a long pause, or at a sentence end once a segment is long
enough. ``relabel`` does the same by segment for a live
room-microphone track once the whole recording has been diarized."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from shared.contracts.diarization import Turn
from shared.contracts.internal import SegmentIn

SENTENCE_END = (".", "?", "!", "。", "？", "！")
MAX_PAUSE_MS = 1500
SOFT_MAX_MS = 15_000  # past this, a sentence end closes the segment
NEAREST_TURN_MS = 1000  # a word in no turn takes a turn this close
MIN_TURN_MS = 1000  # a speaker's stretch inside someone else's sentence shorter than this is not a turn
SENTENCE_PAUSE_MS = 700  # a pause this long ends a sentence that has no punctuation


def speaker_for(start: int, end: int, turns: list[Turn], starts: list[int]) -> str | None:
    best, best_overlap = None, 0
    i = max(0, bisect.bisect_right(starts, start) - 1)
    while i < len(turns) and turns[i].start_ms < end:
        overlap = min(end, turns[i].end_ms) - max(start, turns[i].start_ms)
        if overlap > best_overlap:
            best, best_overlap = turns[i].speaker, overlap
        i += 1
    if best is not None:
        return best
    middle = (start + end) // 2
    nearest = min(turns, key=lambda t: min(abs(t.start_ms - middle), abs(t.end_ms - middle)), default=None)
    if nearest and min(abs(nearest.start_ms - middle), abs(nearest.end_ms - middle)) <= NEAREST_TURN_MS:
        return nearest.speaker
    return None


def attribute(words: list[dict[str, Any]], turns: list[Turn]) -> list[dict[str, Any]]:
    """Words (start_ms, end_ms, text, …) with a ``speaker``; a word no turn explains keeps the
    previous word's speaker, and a sentence keeps its speaker across a diarization boundary that
    cuts off a word or two of it."""
    turns = sorted(turns, key=lambda t: t.start_ms)
    starts = [t.start_ms for t in turns]
    previous = None
    out = []
    for word in words:
        speaker = speaker_for(word["start_ms"], word["end_ms"], turns, starts) or previous
        previous = speaker
        out.append({**word, "speaker": speaker})
    for sentence in sentences(out):
        keep_sentence_speaker(sentence)
    return out


def ends_sentence(word: dict[str, Any], following: dict[str, Any] | None) -> bool:
    """The word ends its sentence: by its punctuation, or by the pause after it."""
    if word["text"].strip().endswith(SENTENCE_END):
        return True
    return following is not None and following["start_ms"] - word["end_ms"] >= SENTENCE_PAUSE_MS


def sentences(words: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = [[]]
    for i, word in enumerate(words):
        out[-1].append(word)
        if ends_sentence(word, words[i + 1] if i + 1 < len(words) else None):
            out.append([])
    return [sentence for sentence in out if sentence]


def runs(words: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive words of one speaker."""
    out: list[list[dict[str, Any]]] = []
    for word in words:
        if out and out[-1][-1]["speaker"] == word["speaker"]:
            out[-1].append(word)
        else:
            out.append([word])
    return out


def keep_sentence_speaker(sentence: list[dict[str, Any]]) -> None:
    """The speaker with most of the sentence's speech takes every stretch of it that is too short
    to be a turn of its own (in place). A longer stretch is a real change of speaker that the
    punctuation missed, and keeps its speaker."""
    spoken: dict[str, int] = defaultdict(int)
    for word in sentence:
        if word["speaker"] is not None:
            spoken[word["speaker"]] += max(1, word["end_ms"] - word["start_ms"])
    if not spoken:
        return
    main = max(spoken, key=lambda speaker: spoken[speaker])
    for run in runs(sentence):
        if run[-1]["end_ms"] - run[0]["start_ms"] < MIN_TURN_MS:
            for word in run:
                word["speaker"] = main


def segments_from_words(words: list[dict[str, Any]], language: str | None) -> list[dict[str, Any]]:
    segments: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []

    def close() -> None:
        if current:
            text = "".join(w["text"] for w in current).strip()
            if text:
                segments.append(
                    {
                        "speaker": current[0]["speaker"],
                        "start_ms": current[0]["start_ms"],
                        "end_ms": max(w["end_ms"] for w in current),
                        "text": text,
                        "language": language,
                        "words": [{k: w[k] for k in ("start_ms", "end_ms", "text", "prob") if k in w} for w in current],
                    }
                )
            current.clear()

    for word in words:
        if current:
            last = current[-1]
            new_speaker = word["speaker"] != last["speaker"]
            pause = word["start_ms"] - last["end_ms"] > MAX_PAUSE_MS
            long_sentence = last["text"].strip().endswith(SENTENCE_END) and last["end_ms"] - current[0]["start_ms"] > SOFT_MAX_MS
            if new_speaker or pause or long_sentence:
                close()
        current.append(word)
    close()
    return segments


def relabel(segments: list[tuple[str, int, int, str]], turns: list[Turn], track: str) -> dict[str, str]:
    """New speaker label per segment id: each diarized speaker becomes the live label it shares
    the most time with (once each, largest overlaps first); the rest get new numbers."""
    overlap: dict[tuple[str, str], int] = defaultdict(int)
    per_segment: dict[str, dict[str, int]] = {}
    for segment_id, start, end, live in segments:
        shares: dict[str, int] = defaultdict(int)
        for turn in turns:
            shared = min(end, turn.end_ms) - max(start, turn.start_ms)
            if shared > 0:
                shares[turn.speaker] += shared
                overlap[(turn.speaker, live)] += shared
        per_segment[segment_id] = shares
    names: dict[str, str] = {}
    taken: set[str] = set()
    for (speaker, live), _ms in sorted(overlap.items(), key=lambda item: -item[1]):
        if speaker not in names and live not in taken:
            names[speaker] = live
            taken.add(live)
    # Numbers of every live label (matched or not) are in use: a new voice must not take one.
    live_labels = {live for _sid, _start, _end, live in segments}
    used = {int(n) for label in live_labels if (n := label.rpartition(":S")[2]).isdigit() and ":S" in label}
    for speaker in sorted({t.speaker for t in turns} - set(names)):
        number = next(n for n in range(1, 1000) if n not in used)
        used.add(number)
        names[speaker] = f"{track}:S{number}"
    return {segment_id: names[max(shares, key=lambda s: shares[s])] for segment_id, shares in per_segment.items() if shares}


# A re-transcription with fewer words than this share of the live text keeps the live text.
MIN_WORDS_KEPT = 0.5


@dataclass
class Redone:
    """One recording transcribed again: its track, where it lies on the session clock, the new
    segments (times on the session clock, speaker = the track)."""

    track: str
    start_ms: int
    end_ms: int
    segments: list[dict[str, Any]]


def _words(text: str) -> int:
    return len(text.split())


def next_version(live: list[dict[str, Any]], redone: list[Redone]) -> tuple[list[SegmentIn], int]:
    """The transcript with each re-transcribed recording's live segments replaced by its new ones
    (api_service/jobs/post_meeting.py), in time order, and how many recordings' text was replaced."""
    kept = list(live)
    fresh: list[SegmentIn] = []
    taken: set[str] = set()
    replaced = 0
    for n, recording in enumerate(redone):
        mine = [s for s in kept if s["speaker"] == recording.track and recording.start_ms <= s["start_ms"] < recording.end_ms]
        live_words = sum(_words(s["text"]) for s in mine)
        new_words = sum(_words(s["text"]) for s in recording.segments)
        if not recording.segments or new_words < MIN_WORDS_KEPT * live_words:
            continue
        replaced += 1
        kept = [s for s in kept if s not in mine]
        name = next((s.get("speaker_name") for s in mine if s.get("speaker_name")), None)
        for k, segment in enumerate(recording.segments):
            overlap = {
                s["segment_id"]: min(s["end_ms"], segment["end_ms"]) - max(s["start_ms"], segment["start_ms"])
                for s in mine
                if s["segment_id"] not in taken
            }
            best = max(overlap, key=lambda sid: overlap[sid], default=None)
            segment_id = best if best is not None and overlap[best] > 0 else f"post-{n:02d}-{k:05d}"
            taken.add(segment_id)
            fresh.append(SegmentIn.model_validate({**segment, "segment_id": segment_id, "speaker_name": name}))
    rows = [SegmentIn.model_validate(s) for s in kept] + fresh
    return sorted(rows, key=lambda s: (s.start_ms, s.segment_id)), replaced
