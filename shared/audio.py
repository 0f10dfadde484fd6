"""Audio decoding for every service: any container/codec FFmpeg knows (WAV, FLAC, OGG/Opus, MP3,
M4A/AAC, WebM) or raw int16 PCM, to 16 kHz mono float32 in [-1, 1].

PyAV bundles FFmpeg's libraries in its wheel, so nothing depends on a system ffmpeg. Decoding is
streamed frame by frame and stops as soon as a limit is passed, so a huge upload is refused without
being held whole in memory."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, BinaryIO

import av
import numpy as np

SAMPLE_RATE = 16_000


class AudioError(ValueError):
    """Audio that cannot be used. ``status_code`` is the HTTP status a service should answer."""

    status_code = 400


class AudioDecodeError(AudioError):
    """Empty, corrupt, or not audio at all."""

    status_code = 415


class AudioTooLarge(AudioError):
    """Over the configured size or duration limit."""

    status_code = 413


@dataclass(frozen=True)
class AudioLimits:
    max_bytes: int = 512 * 1024 * 1024
    max_seconds: float = 4 * 3600.0


def _resampler() -> av.AudioResampler:
    return av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)


def decode_blocks(
    source: bytes | str | os.PathLike[str] | BinaryIO | IO[bytes], limits: AudioLimits = AudioLimits()
) -> Iterator[np.ndarray]:
    """Decode a file (bytes, path, or binary file object from its current position) to 16 kHz
    mono float32, block by block as the decoder produces them, so a caller can stream it on."""
    if isinstance(source, bytes | bytearray):
        size = len(source)
        source = io.BytesIO(source)
    elif isinstance(source, str | os.PathLike):
        size = os.path.getsize(source)
    else:
        pos = source.tell()
        size = source.seek(0, io.SEEK_END) - pos
        source.seek(pos)
    if size == 0:
        raise AudioDecodeError("audio is empty")
    if size > limits.max_bytes:
        raise AudioTooLarge(f"audio is {size} bytes; the limit is {limits.max_bytes}")

    max_samples = int(limits.max_seconds * SAMPLE_RATE)
    total = 0
    try:
        with av.open(source, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioDecodeError("no audio stream found")
            stream = container.streams.audio[0]
            resampler = _resampler()
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1)
                    total += samples.size
                    if total > max_samples:
                        raise AudioTooLarge(f"audio is longer than the limit of {limits.max_seconds:.0f} s")
                    yield samples
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1)
    except AudioError:
        raise
    except (av.FFmpegError, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise AudioDecodeError(f"could not decode audio: {exc}") from exc


def decode_audio(source: bytes | str | os.PathLike[str] | BinaryIO, limits: AudioLimits = AudioLimits()) -> np.ndarray:
    """Decode a file (bytes, path or binary file object) to 16 kHz mono float32."""
    chunks = list(decode_blocks(source, limits))
    if not chunks:
        raise AudioDecodeError("audio holds no samples")
    return np.clip(np.concatenate(chunks).astype(np.float32, copy=False), -1.0, 1.0)


def pcm16_to_float(
    data: bytes, sample_rate: int = SAMPLE_RATE, channels: int = 1, limits: AudioLimits = AudioLimits()
) -> np.ndarray:
    """Raw little-endian int16 PCM (interleaved when ``channels`` > 1) to 16 kHz mono float32."""
    if not data:
        raise AudioDecodeError("audio is empty")
    if len(data) > limits.max_bytes:
        raise AudioTooLarge(f"audio is {len(data)} bytes; the limit is {limits.max_bytes}")
    if not 8000 <= sample_rate <= 192_000:
        raise AudioError(f"unsupported sample rate {sample_rate}")
    if channels < 1 or len(data) % (2 * channels):
        raise AudioDecodeError("PCM length is not a whole number of int16 frames")
    pcm = np.frombuffer(data, dtype="<i2").reshape(-1, channels)
    if pcm.shape[0] / sample_rate > limits.max_seconds:
        raise AudioTooLarge(f"audio is longer than the limit of {limits.max_seconds:.0f} s")
    mono = pcm.astype(np.float32).mean(axis=1) / 32768.0
    return resample(mono, sample_rate)


def resample(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 at ``sample_rate`` to 16 kHz (FFmpeg's resampler, band-limited)."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if sample_rate == SAMPLE_RATE or samples.size == 0:
        return samples
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = sample_rate
    resampler = _resampler()
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32, copy=False) if out else np.zeros(0, np.float32)


def float_to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def encode_wav(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Mono float32 to 16-bit PCM WAV bytes (for sending audio between services)."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=sample_rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


@dataclass(frozen=True)
class AudioInfo:
    container: str
    codec: str
    duration_s: float | None
    sample_rate: int
    channels: int


def probe_audio(path: str | os.PathLike[str]) -> AudioInfo:
    """What a file is, judged by its content (not its name); raises AudioDecodeError if it holds
    no audio FFmpeg can read."""
    if os.path.getsize(path) == 0:
        raise AudioDecodeError("audio is empty")
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioDecodeError("no audio stream found")
            stream = container.streams.audio[0]
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            # A header can lie: make sure at least one frame decodes.
            next(container.decode(stream))
            return AudioInfo(
                container.format.name,
                stream.codec_context.name,
                duration,
                stream.codec_context.sample_rate or 0,
                stream.codec_context.channels or 0,
            )
    except AudioError:
        raise
    except StopIteration:
        raise AudioDecodeError("audio holds no decodable frames") from None
    except (av.FFmpegError, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise AudioDecodeError(f"could not read audio: {exc}") from exc
