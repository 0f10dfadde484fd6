"""Decoding real files of every format we accept (made by the system ffmpeg), and refusing bad
ones with the right error."""

from __future__ import annotations

import io
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from shared.audio import (
    SAMPLE_RATE,
    AudioDecodeError,
    AudioLimits,
    AudioTooLarge,
    decode_audio,
    encode_wav,
    float_to_pcm16,
    pcm16_to_float,
    resample,
)

pytestmark = [pytest.mark.unit]

FORMATS = {"wav": [], "flac": [], "ogg": ["-c:a", "libopus"], "mp3": [], "m4a": ["-c:a", "aac"], "webm": ["-c:a", "libopus"]}


def dominant_hz(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()])


@pytest.fixture(scope="module")
def stereo_tone_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """2.0 s at 44.1 kHz stereo: 440 Hz left, 1000 Hz right, so the downmix holds both."""
    out = tmp_path_factory.mktemp("audio")
    files = {}
    for ext, codec in FORMATS.items():
        path = out / f"tone.{ext}"
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "sine=f=440:d=2:r=44100",
                "-f",
                "lavfi",
                "-i",
                "sine=f=1000:d=2:r=44100",
                "-filter_complex",
                "[0:a][1:a]join=inputs=2:channel_layout=stereo",
                *codec,
                str(path),
            ],
            check=True,
        )
        files[ext] = path
    return files


@pytest.mark.parametrize("ext", list(FORMATS))
def test_decodes_every_format_to_16k_mono(stereo_tone_files: dict[str, Path], ext: str) -> None:
    samples = decode_audio(stereo_tone_files[ext].read_bytes())
    assert samples.dtype == np.float32
    # Lossy codecs pad a few tens of milliseconds.
    assert abs(samples.size / SAMPLE_RATE - 2.0) < 0.1
    middle = samples[SAMPLE_RATE // 2 : SAMPLE_RATE + SAMPLE_RATE // 2]
    spectrum = np.abs(np.fft.rfft(middle))
    freqs = np.fft.rfftfreq(middle.size, 1 / SAMPLE_RATE)
    for hz in (440, 1000):  # both channels survive the downmix
        assert spectrum[np.abs(freqs - hz) < 5].max() > 0.2 * spectrum.max()


def test_decodes_from_path_and_file_object(stereo_tone_files: dict[str, Path]) -> None:
    path = stereo_tone_files["flac"]
    from_path = decode_audio(path)
    with open(path, "rb") as fh:
        from_file = decode_audio(fh)
    assert np.allclose(from_path, from_file)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "empty"),
        (b"this is not audio at all" * 50, "not a recording we can read"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a recording|damaged|no audio"),
    ],
    ids=["empty", "text", "truncated-wav-header"],
)
def test_unusable_input_raises_decode_error(payload: bytes, message: str) -> None:
    with pytest.raises(AudioDecodeError, match=message):
        decode_audio(payload)


def test_video_without_audio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "video.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=32x32:d=0.5", "-c:v", "libvpx", str(path)], check=True
    )
    with pytest.raises(AudioDecodeError, match="no audio track"):
        decode_audio(path.read_bytes())


def test_limits_answer_too_large(stereo_tone_files: dict[str, Path]) -> None:
    data = stereo_tone_files["wav"].read_bytes()
    with pytest.raises(AudioTooLarge) as err:
        decode_audio(data, AudioLimits(max_bytes=len(data) - 1))
    assert err.value.status_code == 413
    with pytest.raises(AudioTooLarge, match=r"lasts 2\.0 s; the limit is 1\.0 s"):
        decode_audio(data, AudioLimits(max_seconds=1.0))


def test_raw_pcm_is_downmixed_and_resampled() -> None:
    rate = 48_000
    t = np.arange(rate) / rate
    left, right = np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 300 * t)
    interleaved = np.stack([left, right], axis=1).reshape(-1) * 0.5
    samples = pcm16_to_float(float_to_pcm16(interleaved), sample_rate=rate, channels=2)
    assert abs(samples.size - SAMPLE_RATE) <= 32
    assert abs(dominant_hz(samples) - 300) < 3
    assert 0.45 < np.abs(samples).max() < 0.55


def test_raw_pcm_errors() -> None:
    with pytest.raises(AudioDecodeError):
        pcm16_to_float(b"\x00\x01\x02")  # not whole int16 frames
    with pytest.raises(AudioDecodeError):
        pcm16_to_float(b"")
    with pytest.raises(ValueError, match="sample rate"):
        pcm16_to_float(b"\x00\x00" * 10, sample_rate=100)
    with pytest.raises(AudioTooLarge):
        pcm16_to_float(b"\x00\x00" * SAMPLE_RATE * 3, limits=AudioLimits(max_seconds=2))


def test_wav_round_trip_is_lossless_to_16_bits() -> None:
    tone = (np.sin(2 * np.pi * 440 * np.arange(SAMPLE_RATE) / SAMPLE_RATE) * 0.5).astype(np.float32)
    data = encode_wav(tone)
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (SAMPLE_RATE, 1, 2)
    assert np.abs(decode_audio(data) - tone).max() < 1e-3


def test_resample_keeps_pitch_and_duration() -> None:
    rate = 22_050
    tone = np.sin(2 * np.pi * 700 * np.arange(rate * 2) / rate).astype(np.float32)
    out = resample(tone, rate)
    assert abs(out.size - 2 * SAMPLE_RATE) <= 32
    assert abs(dominant_hz(out) - 700) < 3
