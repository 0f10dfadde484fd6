"""Micro-batching inference scheduler. Clips from all requests wait in one bounded priority queue;
one loop takes up to ``max_batch`` of one priority at a time (waiting ``wait_ms`` to fill a
batch) and runs the engine off the event loop, always on the same thread
(``shared.model_thread``: FunASR runs on torch). Live finals go first, then
partials, then clips of uploaded files; a batch never mixes them, so a final does not wait for the
partials decoded beside it."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from enum import IntEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.model_thread import ModelThread
from stt_service.engines.base import Clip, ClipResult, Engine

log = logging.getLogger(__name__)


class Priority(IntEnum):
    final = 0
    partial = 1
    file = 2


class Overloaded(RuntimeError):
    """The queue is full; the caller should retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"STT queue is full; retry in {retry_after}s")
        self.retry_after = retry_after


@dataclass(order=True)
class _Item:
    priority: int
    seq: int
    clip: Clip = field(compare=False)
    future: asyncio.Future[ClipResult] = field(compare=False)
    enqueued: float = field(compare=False, default_factory=time.perf_counter)


class SchedulerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.queue_depth = Gauge("stt_queue_depth", "Clips waiting for inference", registry=registry)
        self.batch_size = Histogram(
            "stt_batch_size", "Clips per model call", buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32), registry=registry
        )
        self.audio_seconds = Counter("stt_audio_seconds_total", "Seconds of audio transcribed", registry=registry)
        self.inference_seconds = Counter("stt_inference_seconds_total", "Seconds spent in the model", registry=registry)
        self.rtf = Histogram(
            "stt_batch_rtf",
            "Model time / audio time per batch",
            buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2),
            registry=registry,
        )
        self.early_finals = Counter(
            "stt_early_finals_total",
            "Live finals decoded at the start of a pause, by whether that pause became the endpoint",
            ["outcome"],
            registry=registry,
        )
        self.merged_finals = Counter(
            "stt_merged_finals_total",
            "Live finals held at their endpoint (under three words, no sentence end) and joined to the speaker's next utterance",
            registry=registry,
        )
        self.punctuated_finals = Counter(
            "stt_punctuated_finals_total",
            "Live finals sent at a pause shorter than the endpoint's silence, their decode ending a sentence",
            registry=registry,
        )
        self.queue_wait = Histogram(
            "stt_queue_wait_seconds",
            "Time a clip waited before inference",
            buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
            registry=registry,
        )


class Scheduler:
    def __init__(self, engine: Engine, metrics: SchedulerMetrics, *, max_batch: int, wait_ms: int, max_queue: int) -> None:
        self.engine = engine
        self.metrics = metrics
        self._max_batch = max_batch
        self._wait = wait_ms / 1000
        self._max_queue = max_queue
        self._queue: asyncio.PriorityQueue[_Item] = asyncio.PriorityQueue()
        self._seq = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._thread = ModelThread("stt-model")
        self.busy_seconds_ema = 0.5  # recent seconds per batch, for Retry-After

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="stt-scheduler")

    async def aclose(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._thread.shutdown()

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def submit_many(self, clips: list[Clip], priority: Priority) -> list[asyncio.Future[ClipResult]]:
        """Queue clips together (all or none, so a request is never half-accepted)."""
        if self._queue.qsize() + len(clips) > self._max_queue and priority != Priority.final:
            batches_ahead = (self._queue.qsize() + self._max_batch - 1) // self._max_batch
            raise Overloaded(max(1, round(batches_ahead * self.busy_seconds_ema)))
        loop = asyncio.get_running_loop()
        futures = []
        for clip in clips:
            future: asyncio.Future[ClipResult] = loop.create_future()
            self._queue.put_nowait(_Item(int(priority), next(self._seq), clip, future))
            futures.append(future)
        self.metrics.queue_depth.set(self._queue.qsize())
        return futures

    async def transcribe(self, clips: list[Clip], priority: Priority) -> list[ClipResult]:
        futures = self.submit_many(clips, priority)
        try:
            return list(await asyncio.gather(*futures))
        except asyncio.CancelledError:
            for f in futures:
                f.cancel()  # the worker skips clips nobody waits for
            raise

    async def _next_batch(self) -> list[_Item]:
        batch = [await self._queue.get()]
        deadline = time.perf_counter() + self._wait
        while len(batch) < self._max_batch:
            if self._queue.empty():
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                await asyncio.sleep(min(remaining, 0.002))
                continue
            item = self._queue.get_nowait()
            if item.priority != batch[0].priority:
                self._queue.put_nowait(item)  # (priority, seq) order: it is next again
                break
            batch.append(item)
        return [item for item in batch if not item.future.done()]

    async def _run(self) -> None:
        while True:
            batch = await self._next_batch()
            self.metrics.queue_depth.set(self._queue.qsize())
            if not batch:
                continue
            started = time.perf_counter()
            for item in batch:
                self.metrics.queue_wait.observe(started - item.enqueued)
            try:
                results = await self._thread.run(self.engine.transcribe_clips, [i.clip for i in batch])
            except Exception as exc:
                log.exception("inference failed for a batch of %d", len(batch))
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            elapsed = time.perf_counter() - started
            audio_s = sum(i.clip.audio.size for i in batch) / 16000
            self.busy_seconds_ema = 0.8 * self.busy_seconds_ema + 0.2 * elapsed
            self.metrics.batch_size.observe(len(batch))
            self.metrics.audio_seconds.inc(audio_s)
            self.metrics.inference_seconds.inc(elapsed)
            self.metrics.rtf.observe(elapsed / max(audio_s, 1e-3))
            for item, result in zip(batch, results, strict=True):
                if not item.future.done():
                    item.future.set_result(result)
