"""Request bodies spooled to a file (``shared.pcm_file``) as they arrive, with the size limit
checked on the way, and raw PCM bodies used as they are."""

from __future__ import annotations

from typing import IO

from fastapi import Request

from shared.audio import PCM_FRAMES, SAMPLE_RATE, AudioDecodeError, AudioLimits, check_declared_size, empty, too_large, too_long
from shared.pcm_file import PcmFile, spooled


async def spool_body(request: Request, max_bytes: int) -> IO[bytes]:
    """The request body in a spooled file; 413 as soon as it passes ``max_bytes``."""
    check_declared_size(request.headers.get("content-length"), max_bytes)
    file = spooled()
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise too_large(max_bytes)
            file.write(chunk)
    except BaseException:
        file.close()
        raise
    if size == 0:
        file.close()
        raise empty()
    return file


def pcm_body(file: IO[bytes], limits: AudioLimits) -> PcmFile:
    """A spooled body of 16 kHz mono int16 PCM used as it is."""
    source = PcmFile(file)
    file.seek(0, 2)
    if file.tell() % 2:
        file.close()
        raise AudioDecodeError(PCM_FRAMES)
    if source.num_samples > limits.max_seconds * SAMPLE_RATE:
        file.close()
        raise too_long(limits)
    return source
