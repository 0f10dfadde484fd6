"""Audio kept as 16 kHz mono int16 in a temporary file and read back in pieces, so a long
recording is never held in memory whole: an hour is 115 MB on disk instead of 230 MB of float32
(plus decode buffers) in the process. Short audio stays in memory (``SpooledTemporaryFile``).
The diarization service keeps request bodies this way; the batch worker its decoded uploads."""

from __future__ import annotations

import tempfile
import threading
from typing import IO, BinaryIO

import numpy as np

from shared.audio import AudioLimits, decode_blocks

IN_MEMORY_BYTES = 16 * 1024 * 1024  # below this a spooled file stays in memory (8 min of PCM)
BLOCK_FRAMES = 256  # decoded frames (~1024 samples each) written at a time


def spooled() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES, mode="w+b")


class PcmFile:
    """Little-endian int16 samples in a file, from byte ``offset`` on (the diarization engines
    read it as an AudioSource). Reads may come from several threads at once."""

    def __init__(self, file: IO[bytes], offset: int = 0) -> None:
        self._file = file
        self._lock = threading.Lock()  # a read is a seek and a read of one shared file position
        self._offset = offset
        file.seek(0, 2)
        self._samples = (file.tell() - offset) // 2

    @property
    def num_samples(self) -> int:
        return self._samples

    def read_pcm(self, start: int, end: int) -> bytes:
        """Samples ``start`` to ``end`` as they are stored: little-endian int16."""
        start, end = max(0, start), min(self._samples, end)
        if end <= start:
            return b""
        with self._lock:
            self._file.seek(self._offset + 2 * start)
            return self._file.read(2 * (end - start))

    def read(self, start: int, end: int) -> np.ndarray:
        return np.frombuffer(self.read_pcm(start, end), dtype="<i2").astype(np.float32) / 32768.0

    def close(self) -> None:
        self._file.close()


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
    return PcmFile(out)  # decode_blocks has refused a file that decodes to nothing
