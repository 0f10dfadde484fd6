"""An in-memory stand-in for the STT service's ``/v1/stream`` endpoint, for tests of the plugin
and of code built on it: pass a ``FakeService`` as the plugin's ``http_session``; each stream
connection is a ``FakeSocket`` that records what the client sends, and the test decides what the
service answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
from pydantic import BaseModel

from shared.contracts.stt import StreamReady


class FakeSocket:
    """Stands in for one ``/v1/stream`` connection: records what the plugin sends; the test (or
    ``on_end``) decides what the service answers."""

    def __init__(self, params: dict[str, str], headers: dict[str, str], on_end: Callable[[FakeSocket], None]) -> None:
        self.params, self.headers = params, headers
        self.offset_ms = int(params["offset_ms"])
        self.sent: list[bytes] = []
        self.controls: list[str] = []
        # Each ``config`` control: how many audio frames came before it, and its vocabulary.
        self.configs: list[tuple[int, list[str]]] = []
        self.close_code: int | None = None
        self._incoming: asyncio.Queue[aiohttp.WSMessage] = asyncio.Queue()
        self._on_end = on_end

    async def send_bytes(self, data: bytes) -> None:
        if self.close_code is not None:
            raise ConnectionResetError("closed")
        self.sent.append(data)

    async def send_str(self, data: str) -> None:
        if self.close_code is not None:
            raise ConnectionResetError("closed")
        message = json.loads(data)
        if message["type"] == "config":
            self.configs.append((len(self.sent), message["vocabulary"]))
            return
        self.controls.append(message["type"])
        if self.controls[-1] == "end":
            self._on_end(self)

    async def receive(self, timeout: float | None = None) -> aiohttp.WSMessage:  # noqa: ASYNC109 - aiohttp's signature
        return await self._incoming.get()

    async def close(self) -> None:
        self.close_code = self.close_code or 1000

    def exception(self) -> BaseException | None:
        return None

    def answer(self, event: BaseModel) -> None:
        self._incoming.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, event.model_dump_json(), None))

    def close_with(self, code: int, reason: str = "") -> None:
        """The service closes the connection (1013: model loading; 1006: the connection dropped)."""
        self.close_code = code
        self._incoming.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, code, reason))


class FakeService:
    """Stands in for the aiohttp session the plugin opens WebSockets with: each connection is a
    FakeSocket that greets with ``ready``, or, while ``refuse`` > 0, closes with ``refusal``
    instead (1013, model loading, unless set); while ``gate`` is set and not open, connecting waits."""

    closed = False

    def __init__(self, on_end: Callable[[FakeSocket], None] = lambda socket: None) -> None:
        self.sockets: list[FakeSocket] = []
        self.urls: list[str] = []
        self.refuse = 0
        self.refusal = (1013, "model is loading")
        self.gate: asyncio.Event | None = None
        self._on_end = on_end

    async def ws_connect(self, url: str, *, params: dict[str, str], headers: dict[str, str], heartbeat: float) -> FakeSocket:
        if self.gate is not None:
            await self.gate.wait()
        socket = FakeSocket(params, headers, self._on_end)
        self.sockets.append(socket)
        self.urls.append(url)
        if self.refuse:
            self.refuse -= 1
            socket.close_with(*self.refusal)
        else:
            socket.answer(StreamReady(engine="fake", model="fake", sample_rate=16000))
        return socket


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polling what the stream's tasks change
            await asyncio.sleep(0.01)
