"""Webhook delivery's network rules, against real sockets on loopback: the connection goes to the
address that was checked (a name is not resolved again), and one deadline bounds the whole
attempt even when a receiver trickles its answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from api_service.webhooks import post_pinned, resolve_target

pytestmark = [pytest.mark.unit]


class Receiver:
    """A raw HTTP/1.1 server: records each request head; answers at once or a byte at a time."""

    def __init__(self, trickle: bool) -> None:
        self.trickle = trickle
        self.heads: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        self.heads.append(head)
        if self.trickle:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):
                await writer.drain()
                await asyncio.sleep(0.3)
                writer.write(b"x")
        else:
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()


async def serve(receiver: Receiver) -> AsyncIterator[int]:
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def test_the_connection_goes_to_the_checked_address_with_the_urls_host() -> None:
    receiver = Receiver(trickle=False)
    async for port in serve(receiver):
        # The name does not exist: only the pinned address can be reached.
        url = f"http://hooks.intrascribe-test.invalid:{port}/in?x=1"
        response = await post_pinned(url, "127.0.0.1", b"{}", {"Content-Type": "application/json"}, deadline_s=5)
    assert response.status_code == 204
    [head] = receiver.heads
    assert head.startswith("POST /in?x=1 HTTP/1.1")
    assert f"host: hooks.intrascribe-test.invalid:{port}" in head.lower()


async def test_one_deadline_bounds_the_whole_attempt() -> None:
    receiver = Receiver(trickle=True)
    async for port in serve(receiver):
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await post_pinned(f"http://127.0.0.1:{port}/slow", "127.0.0.1", b"{}", {}, deadline_s=1.5)
        elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 3.0, elapsed  # each byte came within any per-read timeout


async def test_targets_are_resolved_and_checked_once() -> None:
    problem, addresses = await resolve_target("http://localhost:9/hook", allow_private=False)
    assert problem and "not public" in problem and addresses == []
    problem, addresses = await resolve_target("http://127.0.0.1:9/hook", allow_private=False)
    assert problem and "loopback" in problem
    problem, addresses = await resolve_target("http://localhost:9/hook", allow_private=True)
    assert problem is None and "127.0.0.1" in addresses
    problem, addresses = await resolve_target("https://93.184.215.14/hook", allow_private=False)
    assert problem is None and addresses == ["93.184.215.14"]
