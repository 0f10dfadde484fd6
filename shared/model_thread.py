"""A model's own thread: inference runs off the event loop, always on the same thread.

torch's OpenMP runtime (libgomp) keeps a team of worker threads for every thread that starts
parallel work, and once it manages more threads than there are cores it has them all sleep at
once between operations instead of spinning briefly, which models of many small operations pay
for (CAM++ 1.6x slower). ``asyncio.to_thread`` runs work on whichever pool thread is free, so
after a few requests a second team appears; a thread of the model's own never makes one
(docs/decisions.md)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class ModelThread:
    def __init__(self, name: str, workers: int = 1, initializer: Callable[[], object] | None = None) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=name, initializer=initializer)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
