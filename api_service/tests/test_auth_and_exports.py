"""Fast checks of the API's own logic: password checks keep off the event loop and take the
same time whether or not an account exists; DOCX exports survive characters XML cannot hold."""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from collections.abc import Awaitable, Callable

import docx
import pytest

from api_service.auth import check_password, hash_password
from api_service.exports import docx as docx_export

pytestmark = [pytest.mark.unit]


async def median_seconds(call: Callable[[], Awaitable[object]], rounds: int = 5) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


async def test_log_in_timing_does_not_tell_whether_an_account_exists() -> None:
    stored = await hash_password("correct horse battery staple")
    assert await check_password(stored, "correct horse battery staple")
    assert not await check_password(stored, "wrong")
    assert not await check_password(None, "anything")
    known = await median_seconds(lambda: check_password(stored, "wrong"))
    unknown = await median_seconds(lambda: check_password(None, "wrong"))
    assert 0.5 < unknown / known < 2.0, (known, unknown)


async def test_password_hashing_leaves_the_event_loop_free() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.gather(*(hash_password("p" * 12) for _ in range(4)))
    elapsed = time.perf_counter() - started
    task.cancel()
    # The loop kept ticking while argon2 ran (on it, it would be blocked for the whole time).
    assert ticks >= 0.2 * elapsed / 0.005, (ticks, elapsed)


def test_docx_export_keeps_text_with_control_characters() -> None:
    segments = [{"start_ms": 0, "end_ms": 900, "speaker_name": "Ann\x01", "text": "bell\x07 and form\x0cfeed \ud800 ok"}]
    data = docx_export("Title\x00 with NUL", segments, "Summary\x1b[31m in red\n\nSecond block")
    paragraphs = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
    assert paragraphs[0] == "Title with NUL"
    assert "Summary[31m in red" in paragraphs
    assert any(p.endswith("bell and formfeed  ok") for p in paragraphs), paragraphs
