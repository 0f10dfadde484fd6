"""Request audio kept as 16 kHz mono int16 in a temporary file and read back in pieces, so a long
recording is never held in memory whole: an hour is 115 MB on disk instead of 230 MB of float32
(plus the request body and decode buffers) in the process. Short requests stay in memory
(``SpooledTemporaryFile``)."""

from __future__ import annotations

import tempfile
from typing import IO, BinaryIO

import numpy as np
from fastapi import Request

from shared.audio import SAMPLE_RATE, AudioDecodeError, AudioLimits, AudioTooLarge, decode_blocks

IN_MEMORY_BYTES = 16 * 1024 * 1024  # below this a spooled file stays in memory (8 min of PCM)
BLOCK_FRAMES = 256  # decoded frames (~1024 samples each) written at a time


def spooled() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES, mode="w+b")


class PcmFile:
    """An AudioSource over little-endian int16 samples in a file, from byte ``offset`` on."""

    def __init__(self, file: IO[bytes], offset: int = 0) -> None:
        self._file = file
        self._offset = offset
        file.seek(0, 2)
        self._samples = (file.tell() - offset) // 2

    @property
    def num_samples(self) -> int:
        return self._samples

    def read(self, start: int, end: int) -> np.ndarray:
        start, end = max(0, start), min(self._samples, end)
        if end <= start:
            return np.zeros(0, np.float32)
        self._file.seek(self._offset + 2 * start)
        data = self._file.read(2 * (end - start))
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0

    def close(self) -> None:
        self._file.close()


async def spool_body(request: Request, max_bytes: int) -> IO[bytes]:
    """The request body in a spooled file; 413 as soon as it passes ``max_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise AudioTooLarge(f"request body is {declared} bytes; the limit is {max_bytes}")
    file = spooled()
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise AudioTooLarge(f"request body is over the limit of {max_bytes} bytes")
            file.write(chunk)
    except BaseException:
        file.close()
        raise
    if size == 0:
        file.close()
        raise AudioDecodeError("audio is empty")
    return file


def pcm_body(file: IO[bytes], limits: AudioLimits) -> PcmFile:
    """A spooled body of 16 kHz mono int16 PCM used as it is."""
    source = PcmFile(file)
    file.seek(0, 2)
    if file.tell() % 2:
        file.close()
        raise AudioDecodeError("PCM length is not a whole number of int16 frames")
    if source.num_samples > limits.max_seconds * SAMPLE_RATE:
        file.close()
        raise AudioTooLarge(f"audio is longer than the limit of {limits.max_seconds:.0f} s")
    return source


def decode_to_file(source: BinaryIO | IO[bytes], limits: AudioLimits) -> PcmFile:
    """Decode any container FFmpeg knows into a spooled int16 file, block by block
    (``shared.audio.decode_blocks``: the same errors and limits as ``decode_audio``)."""
    source.seek(0)
    out = spooled()
    pending: list[np.ndarray] = []

    def flush() -> None:
        if pending:
            samples = np.clip(np.concatenate(pending), -1.0, 1.0)
            out.write(np.round(samples * 32768.0).clip(-32768, 32767).astype("<i2").tobytes())
            pending.clear()

    try:
        for block in decode_blocks(source, limits):
            pending.append(block)
            if len(pending) >= BLOCK_FRAMES:
                flush()
        flush()
    except BaseException:
        out.close()
        raise
    result = PcmFile(out)
    if result.num_samples == 0:
        out.close()
        raise AudioDecodeError("audio holds no samples")
    return result
