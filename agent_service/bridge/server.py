"""The bridge's WebSocket endpoint and the per-device room link.

A device connects with its token; the API turns the token into the device's room, session and a
participant token (``POST /api/v1/devices/connection-details``, which also starts a session when
none is live). The bridge joins that room as ``device-<id>`` and publishes the device's audio
through a jitter buffer. The link outlives a dropped connection for ``BRIDGE_LINGER_S`` so a
reconnect resumes the same track and sequence numbers."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request, WebSocket, WebSocketDisconnect
from livekit import rtc
from prometheus_client import Counter, Gauge, Histogram

from agent_service.bridge.jitter import JitterBuffer
from agent_service.bridge.protocol import (
    FRAME_MS,
    SAMPLE_RATE,
    Close,
    ProtocolError,
    check_hello,
    decode_frame,
    parse_control,
)
from agent_service.settings import BridgeSettings
from shared.clients import ServiceClient, ServiceRefused, ServiceUnavailable
from shared.contracts.rooms import ConnectionDetails
from shared.service_auth import require_service

log = logging.getLogger(__name__)
router = APIRouter(tags=["bridge"])
API_HEARTBEAT_S = 30  # how often a device's liveness is passed on to the API
MAX_FRAMES_PER_CAPTURE = 5  # 100 ms: the most audio handed to LiveKit in one call


class Refused(Exception):
    def __init__(self, code: Close, message: str) -> None:
        super().__init__(message)
        self.code = code


class BridgeMetrics:
    def __init__(self, registry: Any) -> None:
        self.frames = Counter("bridge_frames_total", "device frames by outcome", ["device", "outcome"], registry=registry)
        self.latency = Histogram(
            "bridge_publish_latency_seconds",
            "frame received -> handed to LiveKit",
            buckets=(0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2),
            registry=registry,
        )
        self.devices = Gauge("bridge_devices_connected", "devices with an open connection", registry=registry)


class DeviceLink:
    """One device's presence in its room: participant, audio track, jitter buffer, player."""

    def __init__(
        self,
        details: ConnectionDetails,
        settings: BridgeSettings,
        metrics: BridgeMetrics,
        on_lost: Callable[[DeviceLink, str], None],
    ) -> None:
        self.identity = details.participantIdentity
        self.room_name = details.roomName
        self.session_id = details.sessionId
        self.token = details.participantToken
        self.settings = settings
        self.metrics = metrics
        self.buffer = JitterBuffer(jitter_ms=settings.bridge_jitter_ms, max_queue_ms=settings.bridge_max_queue_ms)
        self.room = rtc.Room()
        # A short source queue: the jitter buffer already absorbs network jitter, and every
        # millisecond queued here is latency added to the captions.
        self.source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=40)
        self.latencies: collections.deque[float] = collections.deque(maxlen=5000)
        self.socket: WebSocket | None = None
        self.boot_id: str | None = None
        self.connections = 0
        self._arrived = asyncio.Event()
        self._player: asyncio.Task[None] | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._reported = dict.fromkeys(self.buffer.stats.as_dict(), 0)
        self._on_lost = on_lost
        self._closing = False

    async def start(self) -> None:
        await self.room.connect(self.settings.livekit_url, self.token)
        track = rtc.LocalAudioTrack.create_audio_track("room-microphone", self.source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, options)
        # Losing the room (LiveKit restarted, the room was deleted) or the player must not leave
        # a device streaming into nothing: the bridge drops the link and the device reconnects.
        self.room.on("disconnected", lambda reason: self._lost(f"LiveKit disconnected ({reason})"))
        self._player = asyncio.create_task(self._play(), name=f"play-{self.identity}")
        self._player.add_done_callback(
            lambda task: None if task.cancelled() else self._lost(f"publishing failed: {task.exception()}")
        )
        log.info("%s publishing into %s (session %s)", self.identity, self.room_name, self.session_id)

    def _lost(self, why: str) -> None:
        if not self._closing:
            log.warning("%s: %s", self.identity, why)
            self._on_lost(self, why)

    def push(self, data: bytes) -> None:
        self.buffer.push(decode_frame(data), time.monotonic())
        self._arrived.set()

    async def _play(self) -> None:
        """Frames go to LiveKit as they become due; the AudioSource's short queue paces them in
        real time, so a backlog (a replay after reconnecting) waits in the jitter buffer. Frames
        that are due together go in one call: each call crosses into the native SDK, and under
        load that cost, not the audio, is what limits devices per process."""
        while True:
            now = time.monotonic()
            batch: list[tuple[bytes, float | None]] = []
            while len(batch) < MAX_FRAMES_PER_CAPTURE and (item := self.buffer.pop(now)) is not None:
                batch.append(item)
            if not batch:
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), FRAME_MS / 1000)
                continue
            pcm = b"".join(data for data, _arrival in batch)
            await self.source.capture_frame(rtc.AudioFrame(pcm, SAMPLE_RATE, 1, len(pcm) // 2))
            done = time.monotonic()
            for _data, arrival in batch:
                if arrival is not None:
                    self.latencies.append(done - arrival)
                    self.metrics.latency.observe(done - arrival)
            self._count()

    def _count(self) -> None:
        for outcome, value in self.buffer.stats.as_dict().items():
            if value != self._reported[outcome]:
                self.metrics.frames.labels(self.identity, outcome).inc(value - self._reported[outcome])
                self._reported[outcome] = value

    def snapshot(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1) if ordered else None

        return {
            "identity": self.identity,
            "session_id": self.session_id,
            "room": self.room_name,
            "connected": self.socket is not None,
            "connections": self.connections,
            "last_seq": self.buffer.last_seq,
            "buffered_frames": self.buffer.depth,
            "frames": self.buffer.stats.as_dict(),
            "latency_ms": {"p50": pct(0.5), "p95": pct(0.95)},
        }

    async def drain(self, limit_s: float = 5.0) -> None:
        """Let what is buffered play out (a device said bye)."""
        deadline = time.monotonic() + limit_s
        while self.buffer.depth and time.monotonic() < deadline:  # noqa: ASYNC110 - the player empties it
            await asyncio.sleep(FRAME_MS / 1000)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.source.wait_for_playout(), max(0.1, deadline - time.monotonic()))

    async def aclose(self) -> None:
        self._closing = True
        if self._linger:
            self._linger.cancel()
        if self._player:
            self._player.cancel()
            await asyncio.gather(self._player, return_exceptions=True)
        self._count()
        await self.room.disconnect()
        await self.source.aclose()
        log.info("%s left %s: %s", self.identity, self.room_name, self.buffer.stats.as_dict())


class DeviceBridge:
    """All devices of this bridge process, by participant identity."""

    def __init__(self, settings: BridgeSettings, metrics: BridgeMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.links: dict[str, DeviceLink] = {}
        # Final counters of links that ended, newest last (for /v1/devices and benchmarks).
        self.ended: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self.api = ServiceClient(settings.api_url, caller="agent", service_keys=settings.service_keys, retries=2)
        # Heartbeats are relayed in the background with a short timeout: a slow API must never
        # hold up a device's frames.
        self._heartbeats = ServiceClient(
            settings.api_url, caller="agent", service_keys=settings.service_keys, retries=0, timeout=5
        )
        self._last_api_heartbeat: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def authorize(self, token: str | None) -> ConnectionDetails:
        if not token:
            raise Refused(Close.UNAUTHORIZED, "no device token: send Authorization: Bearer <token>")
        try:
            response = await self.api.post("/api/v1/devices/connection-details", headers={"Authorization": f"Bearer {token}"})
        except ServiceUnavailable as exc:
            raise Refused(Close.TRY_AGAIN_LATER, f"API unavailable: {exc}") from None
        if response.status_code == 401:
            raise Refused(Close.UNAUTHORIZED, ServiceRefused(response).detail or "unauthorized")
        if response.status_code != 200:
            raise Refused(Close.TRY_AGAIN_LATER, f"API answered {response.status_code}")
        try:
            return ConnectionDetails.model_validate_json(response.content)
        except ValueError:
            raise Refused(Close.TRY_AGAIN_LATER, "the API's connection details did not fit their contract") from None

    async def attach(self, details: ConnectionDetails, socket: WebSocket, boot_id: str | None) -> DeviceLink:
        """The device's link (resumed if it is still in the same room), now owned by ``socket``."""
        async with self._lock:
            link = self.links.get(details.participantIdentity)
            if link is not None and link.room_name != details.roomName:
                if link.socket is not None:
                    await close(link.socket, Close.REPLACED, "replaced by a newer connection from this device")
                await self._remove(link)  # its session ended; this is a new one
                link = None
            if link is None:
                link = DeviceLink(details, self.settings, self.metrics, self._link_lost)
                try:
                    await link.start()
                except Exception as exc:
                    await link.aclose()
                    raise Refused(Close.TRY_AGAIN_LATER, f"could not join the room: {exc}") from None
                self.links[link.identity] = link
            if link._linger:
                link._linger.cancel()
                link._linger = None
            if boot_id is not None and link.boot_id is not None and boot_id != link.boot_id:
                log.info("%s rebooted: its sequence numbers start again", link.identity)
                link.buffer.restart()
            link.boot_id = boot_id or link.boot_id
            previous, link.socket = link.socket, socket
            link.connections += 1
        if previous is not None:
            await close(previous, Close.REPLACED, "replaced by a newer connection from this device")
        return link

    def detach(self, link: DeviceLink, socket: WebSocket, linger_s: float) -> None:
        if link.socket is not socket:
            return  # already replaced
        link.socket = None
        loop = asyncio.get_running_loop()
        link._linger = loop.call_later(linger_s, lambda: self._spawn(self._expire(link)))

    async def _expire(self, link: DeviceLink) -> None:
        async with self._lock:
            if link.socket is None and self.links.get(link.identity) is link:
                await self._remove(link)

    def _link_lost(self, link: DeviceLink, why: str) -> None:
        async def drop() -> None:
            async with self._lock:
                if link.socket is not None:
                    await close(link.socket, Close.TRY_AGAIN_LATER, why)
                if self.links.get(link.identity) is link:
                    await self._remove(link)

        self._spawn(drop())

    async def _remove(self, link: DeviceLink) -> None:
        # Listed as live until its final counters are recorded: never missing from /v1/devices.
        await link.aclose()
        self.links.pop(link.identity, None)
        self.ended.pop(link.identity, None)
        self.ended[link.identity] = link.snapshot() | {"connected": False, "ended": True}
        while len(self.ended) > 256:
            self.ended.popitem(last=False)

    def device_alive(self, token: str, link: DeviceLink, socket: WebSocket) -> None:
        """Tell the API the device is online (at most every API_HEARTBEAT_S); a token revoked
        while the device streams ends its connection."""
        now = time.monotonic()
        if now - self._last_api_heartbeat.get(link.identity, 0.0) < API_HEARTBEAT_S:
            return
        self._last_api_heartbeat[link.identity] = now

        async def relay() -> None:
            with contextlib.suppress(ServiceUnavailable):
                response = await self._heartbeats.post("/api/v1/devices/heartbeat", headers={"Authorization": f"Bearer {token}"})
                if response.status_code == 401 and link.socket is socket:
                    await close(socket, Close.UNAUTHORIZED, "device token revoked")

        self._spawn(relay())

    async def aclose(self) -> None:
        for link in list(self.links.values()):
            if link.socket is not None:
                await close(link.socket, Close.GOING_AWAY, "bridge shutting down")
            await self._remove(link)
        for task in list(self._tasks):
            task.cancel()
        await self.api.aclose()
        await self._heartbeats.aclose()


async def close(socket: WebSocket, code: Close, message: str) -> None:
    with contextlib.suppress(Exception):  # the peer may already be gone
        await socket.send_json({"type": "error", "code": code.name.lower(), "message": message})
        await socket.close(int(code), message[:120])


def device_token(socket: WebSocket) -> str | None:
    header = socket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return socket.query_params.get("token") or None


@router.websocket("/v1/device")
async def device_socket(socket: WebSocket) -> None:
    bridge: DeviceBridge = socket.app.state.bridge
    settings = bridge.settings
    await socket.accept()
    token = device_token(socket)
    try:
        details = await bridge.authorize(token)
        first = await asyncio.wait_for(socket.receive(), settings.bridge_hello_timeout_s)
        if first.get("text") is None:
            raise ProtocolError("the first message must be a text 'hello'")
        greeting = parse_control(first["text"])
        check_hello(greeting)
        link = await bridge.attach(details, socket, greeting.get("boot_id"))
    except Refused as exc:
        log.warning("device refused: %s", exc)
        await close(socket, exc.code, str(exc))
        return
    except ProtocolError as exc:
        await close(socket, exc.code, str(exc))
        return
    except (TimeoutError, WebSocketDisconnect):
        await close(socket, Close.PROTOCOL_ERROR, "no hello within the time limit")
        return
    assert token is not None
    bridge.metrics.devices.inc()
    linger_s = settings.bridge_linger_s
    try:
        await socket.send_json(
            {
                "type": "config",
                "protocol": 1,
                "session_id": link.session_id,
                "room": link.room_name,
                "participant": link.identity,
                "heartbeat_s": settings.bridge_heartbeat_s,
                "last_seq": link.buffer.last_seq,
            }
        )
        bridge.device_alive(token, link, socket)
        while link.socket is socket:
            message = await asyncio.wait_for(socket.receive(), 3 * settings.bridge_heartbeat_s)
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes") is not None:
                link.push(message["bytes"])
                continue
            control = parse_control(message.get("text") or "")
            if control["type"] == "heartbeat":
                await socket.send_json({"type": "heartbeat", "server_time_ms": int(time.time() * 1000)})
                bridge.device_alive(token, link, socket)
            elif control["type"] == "bye":
                await link.drain()
                linger_s = 0.0
                await socket.close(int(Close.NORMAL), "bye")
                break
            else:
                raise ProtocolError(f"unexpected control message {control['type']!r}")
    except ProtocolError as exc:
        log.warning("%s: protocol error: %s", link.identity, exc)
        await close(socket, exc.code, str(exc))
    except TimeoutError:
        await close(socket, Close.IDLE_TIMEOUT, "no frames or heartbeat")
    except (WebSocketDisconnect, RuntimeError):
        pass  # gone, or closed by the bridge itself (replaced, revoked, room lost)
    finally:
        bridge.metrics.devices.dec()
        bridge.detach(link, socket, linger_s)


async def devices(request: Request) -> list[dict[str, Any]]:
    """Every device link of this bridge with its frame counters and added latency, then the
    final counters of recently ended ones."""
    bridge: DeviceBridge = request.app.state.bridge
    live = [link.snapshot() | {"ended": False} for link in bridge.links.values()]
    return live + [s for identity, s in reversed(bridge.ended.items()) if identity not in bridge.links]


def mount(app: FastAPI, settings: BridgeSettings) -> DeviceBridge:
    bridge = DeviceBridge(settings, BridgeMetrics(app.state.metrics.registry))
    app.state.bridge = bridge
    app.include_router(router)
    app.add_api_route("/v1/devices", devices, methods=["GET"], dependencies=[require_service(settings.service_keys)])

    async def api_reachable() -> str | None:
        try:
            response = await bridge.api.get("/health")
        except (ServiceUnavailable, httpx.HTTPError) as exc:
            return f"API unreachable: {exc}"
        return None if response.status_code == 200 else f"API answered {response.status_code}"

    app.state.health.add_check("api", api_reachable)
    return bridge
