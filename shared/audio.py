"""Audio decoding for every service: any container/codec FFmpeg knows (WAV, FLAC, OGG/Opus, MP3,
M4A/AAC, WebM) or raw int16 PCM, to 16 kHz mono float32 in [-1, 1].

PyAV bundles FFmpeg's libraries in its wheel, so nothing depends on a system ffmpeg. Decoding is
streamed frame by frame and stops as soon as a limit is passed, so a huge upload is refused without
being held whole in memory."""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

import av
import numpy as np

SAMPLE_RATE = 16_000


class AudioError(ValueError):
    """Audio that cannot be used. ``status_code`` is the HTTP status a service should answer; the
    message is a sentence a person can act on, never a server path or an FFmpeg errno; ``code``
    and ``params`` are the same for clients that say it in another language (shared/errors.py)."""

    status_code = 400
    code = "audio_invalid"

    def __init__(self, message: str, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        if code:
            self.code = code
        self.params = params


class AudioDecodeError(AudioError):
    """Empty, corrupt, or not audio at all."""

    status_code = 415
    code = "audio_unreadable"


class AudioTooLarge(AudioError):
    """Over the configured size or duration limit."""

    status_code = 413
    code = "audio_too_large"


class AudioTooShort(AudioError):
    """A recording too short to hold speech."""

    status_code = 422
    code = "audio_too_short"


ACCEPTED_FORMATS = "WAV, FLAC, OGG/Opus, MP3, M4A/AAC, WebM, AIFF, CAF or AMR"
# The only FFmpeg demuxers audio is ever opened with: plain audio containers, none of which reads
# anything but the bytes handed to it. Playlists (hls, dash), lists of other files (concat),
# session descriptions (sdp), image sequences and devices are refused after the probe, before
# they open anything. "mov" covers mp4/m4a, "matroska" covers webm.
DEMUXERS = "wav,w64,flac,ogg,mp3,mov,matroska,aac,aiff,caf,amr,amrnb,amrwb,au,wv,ac3,eac3"
# Nested opens (a demuxer opening another URL or file) are refused too: no protocol is called
# "none". Inputs are always anonymous file objects, so FFmpeg itself opens nothing at all.
_CONTAINER_OPTIONS = {"format_whitelist": DEMUXERS, "protocol_whitelist": "none"}


@dataclass(frozen=True)
class AudioLimits:
    max_bytes: int = 512 * 1024 * 1024
    max_seconds: float = 4 * 3600.0
    # Audio files shorter than this are refused as holding no speech. Raw PCM is not: it is the
    # wire for live audio and batch pieces, which may be short.
    min_seconds: float = 0.0
    # Wall-clock bound on decoding one input, whatever the file makes FFmpeg do.
    decode_timeout_s: float = 600.0


PCM_FRAMES = "Raw PCM must be whole 16-bit little-endian samples for every channel."


def _resampler() -> av.AudioResampler:
    return av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)


class _Anonymous:
    """A file object without a name. FFmpeg also picks demuxers by file name (an upload whose
    name ended in .m3u8 was read as an HLS playlist and the URLs inside were fetched), so it is
    only ever shown the bytes."""

    def __init__(self, file: BinaryIO | IO[bytes]) -> None:
        self._file = file

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


def _unreadable() -> AudioDecodeError:
    return AudioDecodeError(f"This file is not a recording we can read; send {ACCEPTED_FORMATS} audio.")


def _seconds(value: float) -> str:
    return f"{value / 3600:.1f} h" if value >= 3600 else f"{value:.1f} s"


def too_large(max_bytes: int) -> AudioTooLarge:
    return AudioTooLarge(f"The file is larger than the limit of {max_bytes / 1e6:.0f} MB.", limit_mb=round(max_bytes / 1e6))


def too_long(limits: AudioLimits) -> AudioTooLarge:
    return AudioTooLarge(
        f"The recording is longer than the limit of {_seconds(limits.max_seconds)}.",
        "audio_too_long",
        limit_s=limits.max_seconds,
    )


def empty() -> AudioDecodeError:
    return AudioDecodeError("The file is empty.", "audio_empty")


def no_audio() -> AudioDecodeError:
    return AudioDecodeError("The file holds no audio that could be decoded.")


def check_declared_size(declared: str | None, max_bytes: int) -> None:
    """413 at once for a body whose Content-Length is over the limit, before reading it."""
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)


@contextlib.contextmanager
def _open(
    source: bytes | str | os.PathLike[str] | BinaryIO | IO[bytes], limits: AudioLimits
) -> Iterator[tuple[av.container.InputContainer, av.AudioStream, float]]:
    """The one way audio is opened: the size limit first, local bytes only, through the allowed
    demuxers. Yields the container, its first audio stream and the decoding deadline. A path is
    opened here as a file, so FFmpeg never reads one as a URL."""
    with contextlib.ExitStack() as stack:
        if isinstance(source, bytes | bytearray):
            file: BinaryIO | IO[bytes] = io.BytesIO(source)
        elif isinstance(source, str | os.PathLike):
            file = stack.enter_context(open(source, "rb"))
        else:
            file = source
        pos = file.tell()
        size = file.seek(0, io.SEEK_END) - pos
        file.seek(pos)
        if size == 0:
            raise empty()
        if size > limits.max_bytes:
            raise too_large(limits.max_bytes)
        deadline = time.monotonic() + limits.decode_timeout_s
        try:
            container = stack.enter_context(
                av.open(
                    _Anonymous(file),
                    mode="r",
                    container_options=_CONTAINER_OPTIONS,
                    metadata_errors="ignore",
                    timeout=limits.decode_timeout_s,
                )
            )
        except (av.FFmpegError, UnicodeDecodeError, ValueError, IndexError, OSError) as exc:
            raise _unreadable() from exc
        if not container.streams.audio:
            raise AudioDecodeError("The file holds no audio track.")
        stream = container.streams.audio[0]
        declared = _declared_seconds(container, stream)
        if declared is not None and declared > limits.max_seconds:
            raise AudioTooLarge(
                f"The recording says it lasts {_seconds(declared)}; the limit is {_seconds(limits.max_seconds)}.",
                "audio_too_long",
                limit_s=limits.max_seconds,
            )
        try:
            yield container, stream, deadline
        except (av.FFmpegError, UnicodeDecodeError, ValueError, IndexError, OSError) as exc:
            if isinstance(exc, AudioError):
                raise
            raise AudioDecodeError("The recording is damaged: it could not be decoded.") from exc


def _declared_seconds(container: av.container.InputContainer, stream: av.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _check_deadline(deadline: float, limits: AudioLimits) -> None:
    if time.monotonic() > deadline:
        raise AudioDecodeError(f"Decoding took longer than {limits.decode_timeout_s:.0f} s; the file may be damaged.")


def decode_blocks(
    source: bytes | str | os.PathLike[str] | BinaryIO | IO[bytes], limits: AudioLimits = AudioLimits()
) -> Iterator[np.ndarray]:
    """Decode a file (bytes, path, or binary file object from its current position) to 16 kHz
    mono float32, block by block as the decoder produces them, so a caller can stream it on."""
    max_samples = int(limits.max_seconds * SAMPLE_RATE)
    total = 0
    with _open(source, limits) as (container, stream, deadline):
        resampler = _resampler()
        for frame in container.decode(stream):
            _check_deadline(deadline, limits)
            for out in resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1)
                total += samples.size
                if total > max_samples:
                    raise too_long(limits)
                yield samples
        for out in resampler.resample(None):
            samples = out.to_ndarray().reshape(-1)
            total += samples.size
            yield samples
    if total == 0:
        raise no_audio()
    check_min_duration(total / SAMPLE_RATE, limits)


def check_min_duration(seconds: float, limits: AudioLimits) -> None:
    if seconds < limits.min_seconds:
        raise AudioTooShort(
            f"No speech found: the recording is {seconds:.1f} s long; at least {limits.min_seconds:.1f} s is needed.",
            seconds=round(seconds, 1),
            min_seconds=round(limits.min_seconds, 1),
        )


def decode_audio(source: bytes | str | os.PathLike[str] | BinaryIO, limits: AudioLimits = AudioLimits()) -> np.ndarray:
    """Decode a file (bytes, path or binary file object) to 16 kHz mono float32."""
    chunks = list(decode_blocks(source, limits))
    return np.clip(np.concatenate(chunks).astype(np.float32, copy=False), -1.0, 1.0)


def pcm16_to_float(
    data: bytes, sample_rate: int = SAMPLE_RATE, channels: int = 1, limits: AudioLimits = AudioLimits()
) -> np.ndarray:
    """Raw little-endian int16 PCM (interleaved when ``channels`` > 1) to 16 kHz mono float32."""
    if not data:
        raise empty()
    if len(data) > limits.max_bytes:
        raise too_large(limits.max_bytes)
    if not 8000 <= sample_rate <= 192_000:
        raise AudioError(f"The sample rate {sample_rate} Hz is not supported; use 8000 to 192000 Hz.")
    if channels < 1 or len(data) % (2 * channels):
        raise AudioDecodeError(PCM_FRAMES)
    pcm = np.frombuffer(data, dtype="<i2").reshape(-1, channels)
    if pcm.shape[0] / sample_rate > limits.max_seconds:
        raise too_long(limits)
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


def quietest_moment(samples: np.ndarray, frame: int = SAMPLE_RATE // 10) -> int:
    """Offset of the middle of the quietest ``frame`` in ``samples``: where a long recording can
    be cut with the least chance of splitting a word."""
    frames = samples[: (samples.size // frame) * frame].reshape(-1, frame)
    if not frames.size:
        return samples.size // 2
    return int(np.argmin((frames.astype(np.float32) ** 2).mean(axis=1))) * frame + frame // 2


def float_to_pcm16(samples: np.ndarray) -> bytes:
    return bytes((np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())


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


def probe_audio(source: bytes | str | os.PathLike[str] | BinaryIO, limits: AudioLimits = AudioLimits()) -> AudioInfo:
    """What a file is, judged by its content (not its name), with the same limits and errors as
    decoding it; at least one frame must decode."""
    with _open(source, limits) as (container, stream, _deadline):
        duration = _declared_seconds(container, stream)
        # A header can lie: make sure at least one frame decodes.
        if next(container.decode(stream), None) is None:
            raise no_audio()
        if duration is not None:
            check_min_duration(duration, limits)
        return AudioInfo(
            container.format.name,
            stream.codec_context.name,
            duration,
            stream.codec_context.sample_rate or 0,
            stream.codec_context.channels or 0,
        )
