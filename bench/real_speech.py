"""Real recordings with reference speaker turns, for the diarization and batch benchmarks: the
AMI dev set (six 30 s meeting excerpts, 2-4 speakers, overlap; see its README.md) and
pyannote.audio's bundled phone call; and their DER scoring (pyannote.metrics, 0.25 s collar,
overlap scored, over the whole file as the UEM)."""

from __future__ import annotations

import wave
from dataclasses import asdict, dataclass
from pathlib import Path

from pyannote.core import Annotation, Segment, Timeline
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from tests.speech import DEVSET, PHONE_CALL


@dataclass(frozen=True)
class RealRecording:
    """A real recording with its reference speaker turns, scored over ``uem``."""

    name: str
    wav: Path
    reference: Annotation
    uem: Timeline

    @property
    def speakers(self) -> int:
        return len(self.reference.labels())


def _recording(name: str, wav: Path, rttm: Path) -> RealRecording:
    with wave.open(str(wav)) as w:
        seconds = round(w.getnframes() / w.getframerate(), 2)  # 30.0 for every file here
    return RealRecording(name, wav, load_rttm(str(rttm))[wav.stem], Timeline([Segment(0, seconds)]))


def devset() -> list[RealRecording]:
    """The AMI dev set excerpts (ami_trn00, …), each scored over 0-30 s."""
    wavs = sorted(DEVSET.glob("*.wav"))
    assert wavs, f"no dev set recordings in {DEVSET}"
    return [_recording(wav.stem, wav, wav.with_suffix(".rttm")) for wav in wavs]


def phone_call() -> RealRecording:
    """pyannote.audio's 30 s two-person phone call (its words: PHONE_CALL / "sample.stm")."""
    return _recording("pyannote sample (phone call)", PHONE_CALL / "sample.wav", PHONE_CALL / "sample.rttm")


@dataclass(frozen=True)
class DerParts:
    """DER and its parts, each a fraction of the reference speech (der = missed + false alarm + confusion)."""

    der: float
    missed: float
    false_alarm: float
    confusion: float

    def rounded(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in asdict(self).items()}


def der_parts(recording: RealRecording, hypothesis: Annotation) -> DerParts:
    d = DiarizationErrorRate(collar=0.25, skip_overlap=False)(recording.reference, hypothesis, uem=recording.uem, detailed=True)
    total = d["total"] or 1.0
    return DerParts(d["diarization error rate"], d["missed detection"] / total, d["false alarm"] / total, d["confusion"] / total)


def one_speaker_der(recording: RealRecording) -> float:
    """The baseline: the DER of the reference speech labelled as one speaker (its overlap is
    missed speech, everyone but the main speaker confusion)."""
    everyone = Annotation()
    for segment in recording.reference.get_timeline().support():
        everyone[segment] = "everyone"
    return der_parts(recording, everyone).der
