"""Test speech with known text: espeak-ng voices rendered to 16 kHz mono, a real phone call with
its reference, plus scoring helpers."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.audio import SAMPLE_RATE, decode_audio, encode_wav

ENGLISH = [
    ("en-us", "The quarterly budget review is scheduled for Thursday afternoon."),
    ("en-gb+f3", "Please send the updated project plan to everyone before the meeting."),
    ("en-us+m3", "We agreed to hire two more engineers for the platform team."),
]

# The evaluation set the STT benchmark scores (ENGLISH plus more voices and sentences).
EVAL_ENGLISH = [
    *ENGLISH,
    ("en-gb", "Action item for Maria: compare the three vendor proposals by next Monday."),
    ("en-us+f2", "The customer reported that the login page times out on mobile devices."),
    ("en-gb+m2", "Let's move the design review to the second week of March."),
    ("en-us+f4", "Revenue grew eight percent compared with the same quarter last year."),
    ("en-gb+m4", "I will share the slides and the recording after this call."),
]

# Custom vocabulary: sentences naming people and products Whisper has not learnt to spell (invented
# names, rare ones, product names), each with the terms it says; VOCABULARY names them all, plus
# a few never said (a list is a session's, not a sentence's).
RARE_NAMES = [
    ("en-us", "Please ask Siobhan to review the Zorblax release notes.", ["Siobhan", "Zorblax"]),
    ("en-gb+f3", "The Quillon dashboard stopped loading after the upgrade.", ["Quillon"]),
    ("en-us+m3", "Okonkwo will present the Vantrix roadmap on Friday.", ["Okonkwo", "Vantrix"]),
    ("en-gb", "We moved the metrics from Grafana into Kubeflow last week.", ["Grafana", "Kubeflow"]),
    ("en-us+f2", "Tsvetana said the PostgreSQL migration is almost done.", ["Tsvetana", "PostgreSQL"]),
    ("en-gb+m2", "Brightwell Labs signed the contract for Xyloquent yesterday.", ["Brightwell Labs", "Xyloquent"]),
    ("en-us", "Dagny Thorvaldsen owns the onboarding checklist.", ["Dagny Thorvaldsen"]),
    ("en-gb+f3", "Send the Zorblax invoice to Okonkwo before noon.", ["Zorblax", "Okonkwo"]),
    ("en-us+m3", "The Vantrix team wants a demo of Quillon next month.", ["Vantrix", "Quillon"]),
    ("en-gb", "Xyloquent keeps crashing when Siobhan opens large files.", ["Xyloquent", "Siobhan"]),
    ("en-us+f2", "Can Tsvetana join the call with Brightwell Labs?", ["Tsvetana", "Brightwell Labs"]),
    ("en-gb+m2", "Nguyen asked whether Kubeflow supports our GPUs.", ["Nguyen", "Kubeflow"]),
]
VOCABULARY = [
    *dict.fromkeys(term for _voice, _text, terms in RARE_NAMES for term in terms),
    "Fenwick Analytics",
    "Marquetta",
    "Yggdrasil",
]


def found_terms(terms: list[str], hypothesis: str) -> int:
    """How many of ``terms`` the hypothesis spells (ignoring case and punctuation)."""
    heard = f" {normalize(hypothesis)} "
    return sum(f" {normalize(term)} " in heard for term in terms)


# Distinct synthetic speakers for diarization: voice variant, pitch, words per minute.
VOICES = [("en-us+m7", 40, 145), ("en-us+f3", 90, 165), ("en-us+klatt", 50, 150), ("en-029+f2", 65, 160)]
LINES = [
    "The quarterly budget review is scheduled for Thursday afternoon.",
    "Please send the updated project plan to everyone before the meeting.",
    "We agreed to hire two more engineers for the platform team.",
    "Let's move the design review to the second week of March.",
    "I will share the slides and the recording after this call.",
    "Revenue grew eight percent compared with the same quarter last year.",
    "Action item for Maria: compare the three vendor proposals by next Monday.",
    "The customer reported that the login page times out on mobile devices, and the support team "
    "has already collected logs from three of the affected accounts.",
    "Before we decide, I would like to see the numbers for the last two quarters side by side.",
]
INTERJECTIONS = ["Yes.", "Right.", "Okay.", "Exactly.", "Sure, go ahead."]


def synth(text: str, voice: str = "en-us", speed: int = 150, pitch: int = 50) -> np.ndarray:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text], check=True, capture_output=True
    ).stdout
    return decode_audio(wav)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def audible_end(audio: np.ndarray) -> int:
    """Samples up to the last audible one: espeak ends every sentence with ~0.4 s of silence."""
    return int(np.flatnonzero(np.abs(audio) > 1e-3)[-1]) + 1


def trimmed(audio: np.ndarray) -> np.ndarray:
    """Without espeak's trailing silence, so a gap placed after it is the only one."""
    return audio[: audible_end(audio)]


def wav_bytes(audio: np.ndarray) -> bytes:
    return encode_wav(audio)


def normalize(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


def wer(reference: str, hypothesis: str) -> float:
    import jiwer  # only the root test environment has it

    return float(jiwer.wer(normalize(reference), normalize(hypothesis) or "<empty>"))


@dataclass
class Utterance:
    text: str
    start_s: float
    end_s: float


def conversation(parts: list[tuple[str, str]], gap_s: float = 1.0, lead_s: float = 0.5) -> tuple[np.ndarray, list[Utterance]]:
    """Utterances (voice, text) one after another with silent gaps; returns audio and timings
    (an utterance ends where its speech does, before espeak's trailing silence)."""
    pieces, utterances, t = [silence(lead_s)], [], lead_s
    for voice, text in parts:
        speech = synth(text, voice)
        utterances.append(Utterance(text, t, t + audible_end(speech) / SAMPLE_RATE))
        pieces += [speech, silence(gap_s)]
        t += speech.size / SAMPLE_RATE + gap_s
    return np.concatenate(pieces), utterances


@dataclass
class ReferenceTurn:
    start_s: float
    end_s: float
    speaker: str
    text: str


def _turns(n_speakers: int, turns: int, rng: np.random.Generator) -> Iterator[tuple[int, int, str, np.ndarray]]:
    """(turn index, speaker, text, speech) of a meeting's turns: never the same speaker twice in
    a row, everyone first once in order, every fourth later turn a short interjection. The choices
    for a turn are drawn when it is asked for, so a caller's own draws interleave as they did."""
    previous = -1
    for i in range(turns):
        others = [s for s in range(n_speakers) if s != previous]
        speaker = i if i < n_speakers else int(rng.choice(others))
        previous = speaker
        text = str(rng.choice(INTERJECTIONS)) if i % 4 == 3 and i >= n_speakers else str(rng.choice(LINES))
        voice, pitch, speed = VOICES[speaker]
        yield i, speaker, text, synth(text, voice, speed=speed, pitch=pitch)


def meeting(n_speakers: int, turns: int, seed: int = 0) -> tuple[np.ndarray, list[ReferenceTurn]]:
    """A conversation among ``n_speakers`` distinct voices: turns of 1-10 s with short
    interjections, pauses of 0.2-1 s, never the same speaker twice in a row; everyone says at
    least one full sentence (the first round)."""
    rng = np.random.default_rng(seed)
    pieces, result, t = [silence(0.5)], [], 0.5
    for _i, speaker, text, speech in _turns(n_speakers, turns, rng):
        result.append(ReferenceTurn(t, t + speech.size / SAMPLE_RATE, f"spk{speaker}", text))
        gap = float(rng.uniform(0.2, 1.0))
        pieces += [speech, silence(gap)]
        t += speech.size / SAMPLE_RATE + gap
    return np.concatenate(pieces), result


def overlapped_meeting(
    n_speakers: int, turns: int, seed: int = 0, overlap_every: int = 2, overlap_s: tuple[float, float] = (1.0, 2.5)
) -> tuple[np.ndarray, list[ReferenceTurn]]:
    """Like :func:`meeting`, but every ``overlap_every``-th change of speaker is an interruption:
    the next speaker starts ``overlap_s`` seconds (at most half of either turn) before the
    current one stops, and the two voices are mixed. The returned turns overlap exactly there."""
    rng = np.random.default_rng(seed)
    clips: list[tuple[float, np.ndarray]] = []
    result: list[ReferenceTurn] = []
    t = 0.5
    for i, speaker, text, speech in _turns(n_speakers, turns, rng):
        duration = speech.size / SAMPLE_RATE
        if result and i % overlap_every == 0:
            last = result[-1]
            overlap = min(float(rng.uniform(*overlap_s)), (last.end_s - last.start_s) / 2, duration / 2)
            t = max(last.start_s, last.end_s - overlap)
        clips.append((t, speech))
        result.append(ReferenceTurn(t, t + duration, f"spk{speaker}", text))
        t += duration + float(rng.uniform(0.2, 1.0))
    mix = np.zeros(int((max(turn.end_s for turn in result) + 0.5) * SAMPLE_RATE) + 1, np.float32)
    for start, speech in clips:
        offset = round(start * SAMPLE_RATE)
        mix[offset : offset + speech.size] += speech
    peak = float(np.abs(mix).max())
    return (mix / peak * 0.9 if peak > 0.9 else mix), result


# pyannote.audio's own sample: a two-person phone call (Diane, Sheila) with reference words
# (sample.stm) and turns (sample.rttm). Real speech, unlike the espeak voices above.
ROOT = Path(__file__).resolve().parent.parent
PHONE_CALL = next((ROOT / "diarization_service" / ".venv" / "lib").glob("python3*/site-packages/pyannote/audio/sample"))
# The AMI dev set: six 30 s real meeting excerpts with reference RTTMs, read where they are shipped
# (beside the checkout), never copied into it.
DEVSET = ROOT.parent / "shared" / "devset"


# Real read speech: JFK's inaugural excerpt (public domain), its words with the sentence's
# punctuation in jfk.stm; where it came from: the README beside it.
FIXTURES = ROOT / "shared" / "tests" / "fixtures"
JFK = FIXTURES / "jfk.flac"
# Real speech with sentence-level references, for captions people read: (name, audio, STM words).
REAL_SENTENCES = [
    ("read speech: JFK inaugural excerpt", JFK, FIXTURES / "jfk.stm"),
    ("conversation: pyannote phone call", PHONE_CALL / "sample.wav", PHONE_CALL / "sample.stm"),
]
TERMINAL = ".?!。？！"


def stm_utterances(path: Path) -> list[ReferenceTurn]:
    """The utterances of an STM reference file (``file channel speaker start end text``)."""
    turns = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith(";;"):
            _file, _channel, speaker, start, end, text = line.split(maxsplit=5)
            turns.append(ReferenceTurn(float(start), float(end), speaker, text))
    return turns


def phone_call_turns(repeats: int, gap_s: float, lead_s: float, tail_s: float) -> tuple[np.ndarray, list[Utterance]]:
    """The phone call's speaker turns (consecutive STM utterances of one speaker), each cut out
    with up to 0.1 s either side (never into a neighbour's speech), played ``repeats`` times with
    silent gaps; each turn's times are where its words are in the result."""
    call = decode_audio((PHONE_CALL / "sample.wav").read_bytes())
    merged: list[ReferenceTurn] = []
    for u in stm_utterances(PHONE_CALL / "sample.stm"):
        if merged and merged[-1].speaker == u.speaker and u.start_s - merged[-1].end_s < 0.3:
            merged[-1] = ReferenceTurn(merged[-1].start_s, u.end_s, u.speaker, f"{merged[-1].text} {u.text}")
        else:
            merged.append(u)
    pieces, turns, t = [silence(lead_s)], [], lead_s
    for _ in range(repeats):
        for i, turn in enumerate(merged):
            before = turn.start_s - (merged[i - 1].end_s if i else 0.0)
            after = (merged[i + 1].start_s if i + 1 < len(merged) else call.size / SAMPLE_RATE) - turn.end_s
            cut_start, cut_end = turn.start_s - min(0.1, before / 2), turn.end_s + min(0.1, after / 2)
            clip = call[round(cut_start * SAMPLE_RATE) : round(cut_end * SAMPLE_RATE)]
            turns.append(Utterance(turn.text, t + turn.start_s - cut_start, t + turn.end_s - cut_start))
            pieces += [clip, silence(gap_s)]
            t += clip.size / SAMPLE_RATE + gap_s
    pieces.append(silence(tail_s))
    return np.concatenate(pieces).astype(np.float32), turns


def mapped_accuracy(pairs: list[tuple[str, str]]) -> float:
    """Of (true speaker, found label) pairs, the share that agree under the best one-to-one
    mapping of labels to speakers (labels are arbitrary names)."""
    from scipy.optimize import linear_sum_assignment

    truths, labels = sorted({t for t, _ in pairs}), sorted({h for _, h in pairs})
    counts = np.zeros((len(truths), len(labels)))
    for truth, label in pairs:
        counts[truths.index(truth), labels.index(label)] += 1
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / max(1, len(pairs)))


def words(text: str) -> int:
    """Words as a reader counts them: runs between spaces with a letter in them."""
    return sum(any(c.isalpha() for c in word) for word in text.split())


def sentences(text: str) -> list[str]:
    """The sentences of a reference text, each ended by terminal punctuation (or the text's end)."""
    return [s.strip() for s in re.findall(rf"[^{TERMINAL}]+[{TERMINAL}]*", text) if words(s)]


@dataclass(frozen=True)
class Caption:
    """A live final, in the reference's time."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class CaptionScore:
    """How readable a stream's finals are against what was said."""

    sentences: int  # spoken sentences (terminal punctuation in the reference)
    finals: int
    # Finals under three words where the speaker said more (the reference turn they overlap
    # most has no sentence that short).
    short_finals: int
    wer: float  # all finals' words against all the reference's

    @property
    def finals_per_sentence(self) -> float:
        return round(self.finals / max(1, self.sentences), 2)


def caption_score(reference: Sequence[ReferenceTurn | Utterance], finals: list[Caption]) -> CaptionScore:
    """``finals`` against what was said when (``reference``: its texts punctuated)."""

    def overlap(turn: ReferenceTurn | Utterance, final: Caption) -> float:
        return min(turn.end_s, final.end_s) - max(turn.start_s, final.start_s)

    short = 0
    for final in finals:
        if words(final.text) < 3:
            said = max(reference, key=lambda turn: overlap(turn, final))
            short += all(words(s) >= 3 for s in sentences(said.text))
    return CaptionScore(
        sentences=sum(len(sentences(turn.text)) for turn in reference),
        finals=len(finals),
        short_finals=short,
        wer=wer(" ".join(turn.text for turn in reference), " ".join(f.text for f in finals)),
    )
