"""The threads the models run on.

torch's OpenMP runtime (libgomp) keeps a team of worker threads for every thread that starts
parallel work, and once it manages more threads than there are cores it has them all sleep at
once between operations instead of spinning briefly, which CAM++'s many small operations pay for.
When /diarize ran on whichever of asyncio's pool threads was free, a second team appeared after a
few requests and the embedded engine ran about 1.6x slower (docs/decisions.md). So recordings run
on threads of their own, always the same ones, and /embed's few seconds of audio on one thread
that uses a single core, which starts no team at all."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import torch

P = ParamSpec("P")
T = TypeVar("T")


class ModelThreads:
    def __init__(self, recordings: int) -> None:
        self._recordings = ThreadPoolExecutor(recordings, thread_name_prefix="diarize")
        self._clips = ThreadPoolExecutor(1, thread_name_prefix="embed", initializer=torch.set_num_threads, initargs=(1,))

    async def recording(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Work on a whole recording (and the engine's loading)."""
        return await asyncio.get_running_loop().run_in_executor(self._recordings, functools.partial(fn, *args, **kwargs))

    async def clips(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Embeddings of short clips, beside a recording in progress."""
        return await asyncio.get_running_loop().run_in_executor(self._clips, functools.partial(fn, *args, **kwargs))

    def shutdown(self) -> None:
        self._recordings.shutdown(wait=False, cancel_futures=True)
        self._clips.shutdown(wait=False, cancel_futures=True)
