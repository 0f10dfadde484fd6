"""Test speech with known text: espeak-ng voices rendered to 16 kHz mono, plus scoring helpers."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

import jiwer
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


def synth(text: str, voice: str = "en-us", speed: int = 150, pitch: int = 50) -> np.ndarray:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text], check=True, capture_output=True
    ).stdout
    return decode_audio(wav)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def wav_bytes(audio: np.ndarray) -> bytes:
    return encode_wav(audio)


def normalize(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalize(reference), normalize(hypothesis) or "<empty>"))


@dataclass
class Utterance:
    text: str
    start_s: float
    end_s: float


def conversation(parts: list[tuple[str, str]], gap_s: float = 1.0, lead_s: float = 0.5) -> tuple[np.ndarray, list[Utterance]]:
    """Utterances (voice, text) one after another with silent gaps; returns audio and timings."""
    pieces, utterances, t = [silence(lead_s)], [], lead_s
    for voice, text in parts:
        speech = synth(text, voice)
        utterances.append(Utterance(text, t, t + speech.size / SAMPLE_RATE))
        pieces += [speech, silence(gap_s)]
        t += speech.size / SAMPLE_RATE + gap_s
    return np.concatenate(pieces), utterances
