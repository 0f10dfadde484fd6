from __future__ import annotations

import asyncio
import threading

import pytest

from shared.model_thread import ModelThread

pytestmark = [pytest.mark.unit]


def test_every_call_runs_on_one_thread_set_up_by_the_initializer() -> None:
    prepared: list[int] = []

    async def calls() -> list[int]:
        thread = ModelThread("model", initializer=lambda: prepared.append(threading.get_ident()))
        try:
            # Concurrent calls too: asyncio.to_thread would spread these over several threads.
            return list(await asyncio.gather(*(thread.run(threading.get_ident) for _ in range(8))))
        finally:
            thread.shutdown()

    idents = asyncio.run(calls())
    assert len(set(idents)) == 1
    assert idents[0] != threading.get_ident()
    assert prepared == idents[:1]
