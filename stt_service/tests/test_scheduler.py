"""The inference scheduler, in process with an engine that records its batches: finals go first,
and a batch holds clips of one priority only, so a live final never waits for partials decoded
beside it."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from stt_service.engines.base import Clip, ClipResult
from stt_service.scheduler import Priority, Scheduler, SchedulerMetrics

pytestmark = [pytest.mark.unit]


class RecordingEngine:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def transcribe_clips(self, clips: list[Clip]) -> list[ClipResult]:
        self.batches.append([c.prompt or "" for c in clips])
        time.sleep(0.05)
        return [ClipResult("en", []) for _ in clips]


async def test_a_batch_holds_one_priority_and_finals_go_first() -> None:
    engine = RecordingEngine()
    scheduler = Scheduler(engine, SchedulerMetrics(CollectorRegistry()), max_batch=8, wait_ms=50, max_queue=64)  # type: ignore[arg-type]

    def clips(name: str, n: int) -> list[Clip]:
        return [Clip(np.zeros(1600, np.float32), language="en", prompt=f"{name}{i}") for i in range(n)]

    # Queued before the worker starts, so all of them wait together.
    waiting = [
        scheduler.transcribe(clips("partial", 3), Priority.partial),
        scheduler.transcribe(clips("file", 2), Priority.file),
        scheduler.transcribe(clips("final", 2), Priority.final),
    ]
    tasks = [asyncio.create_task(w) for w in waiting]
    await asyncio.sleep(0)
    scheduler.start()
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
    finally:
        await scheduler.aclose()
    assert engine.batches == [["final0", "final1"], ["partial0", "partial1", "partial2"], ["file0", "file1"]]
