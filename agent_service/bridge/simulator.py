"""A device simulator that speaks exactly the firmware's protocol (docs/device-protocol.md) from
an audio file: hello, config, 20 ms frames on a capture clock, heartbeats, a 5 s reconnect ring
buffer replayed after ``last_seq``, bye. Network faults can be injected for tests and demos.

    python -m agent_service.bridge.simulator meeting.wav --token isd_... [--speed 4] [--reorder 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import logging
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np

from agent_service.bridge.protocol import FRAME_BYTES, FRAME_MS, SEQ_MOD, Frame, hello, seq_after
from shared.audio import decode_audio, float_to_pcm16

log = logging.getLogger("simulator")
RING_FRAMES = 250  # 5 s, as in the firmware


@dataclass
class Faults:
    """Wire faults: probabilities per frame, and one scheduled outage."""

    reorder: float = 0.0  # swap with the next frame
    duplicate: float = 0.0
    drop: float = 0.0  # lost on the wire (the bridge fills the hole)
    late: float = 0.0  # held back 10 frames (the bridge will already have played past it)
    disconnect_at_s: float | None = None
    outage_s: float = 0.0
    power_off_at_s: float | None = None  # the device dies: the connection just stops, no bye
    # The device stops sending (frames and heartbeats) while its connection stays open, as on a
    # stalled network or a hung firmware: only the bridge's idle timeout can end it.
    stall_at_s: float | None = None


@dataclass
class SimulatorResult:
    frames_captured: int = 0
    frames_sent: int = 0
    replayed: int = 0
    # Faults applied, for checking the bridge's counters against.
    dropped: int = 0
    delayed: int = 0
    reordered: int = 0
    duplicated: int = 0
    connections: int = 0
    configs: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)


def pcm_frames(audio: np.ndarray) -> list[bytes]:
    """16 kHz float audio as the firmware's 20 ms frames (the last one padded with silence)."""
    pcm = float_to_pcm16(audio)
    pcm += bytes(-len(pcm) % FRAME_BYTES)
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


class PowerOff(Exception):
    """The simulated device lost power: no bye, the connection is simply dropped."""


class DeviceSimulator:
    def __init__(
        self,
        url: str,
        token: str | None,
        frames: list[bytes],
        *,
        speed: float = 1.0,
        faults: Faults | None = None,
        first_seq: int = 0,
        seed: int = 7,
        start_delay_s: float = 0.0,
    ) -> None:
        self.url = url
        self.token = token
        self.frames = frames
        self.speed = speed
        self.faults = faults or Faults()
        self.first_seq = first_seq
        self.random = random.Random(seed)  # noqa: S311 - simulated network faults, not security
        self.boot_id = f"{random.getrandbits(32):08x}"
        self.start_delay_s = start_delay_s  # devices in a room rarely power up in the same instant
        self.result = SimulatorResult()
        self._ring: collections.deque[Frame] = collections.deque(maxlen=RING_FRAMES)
        self._captured = asyncio.Event()
        self._capture_done = False

    async def run(self) -> SimulatorResult:
        await asyncio.sleep(self.start_delay_s)
        capture = asyncio.create_task(self._capture())
        try:
            await self._stream()
        except PowerOff:
            pass
        finally:
            capture.cancel()
            await asyncio.gather(capture, return_exceptions=True)
        return self.result

    async def _capture(self) -> None:
        """The microphone: a frame every 20 ms / speed into the ring buffer."""
        start = time.monotonic()
        for index, pcm in enumerate(self.frames):
            due = start + index * FRAME_MS / 1000 / self.speed
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            seq = (self.first_seq + index) % SEQ_MOD
            self._ring.append(Frame(seq, index * FRAME_MS * 1000, pcm))
            self.result.frames_captured += 1
            self._captured.set()
        self._capture_done = True
        self._captured.set()

    async def _stream(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        outage_pending = self.faults.disconnect_at_s is not None
        async with aiohttp.ClientSession() as http:
            while True:
                async with http.ws_connect(self.url, headers=headers, heartbeat=None) as ws:
                    self.result.connections += 1
                    config = await self._handshake(ws)
                    if config is None:
                        return
                    # Heartbeat answers, errors and the close arrive while we send.
                    reader = asyncio.create_task(self._until_closed(ws))
                    # After a reconnect, what the ring holds now is a replay.
                    replay_until = self._ring[-1].seq if self.result.connections > 1 and self._ring else None
                    try:
                        cut = await self._send_frames(ws, config, replay_until, outage_pending, reader)
                        if not cut:
                            if not reader.done():
                                await ws.send_str(json.dumps({"type": "bye"}))
                            await asyncio.wait_for(reader, 30)
                            return
                    except (ConnectionError, aiohttp.ClientError):
                        if reader.done():
                            return  # the bridge closed the connection; the reason is recorded
                        raise
                    finally:
                        if not reader.done():
                            reader.cancel()
                    outage_pending = False
                await asyncio.sleep(self.faults.outage_s / self.speed)

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | None:
        await ws.send_str(hello(self.boot_id))
        message = await ws.receive(timeout=60)
        if message.type == aiohttp.WSMsgType.TEXT:
            body = json.loads(message.data)
            if body.get("type") == "config":
                self.result.configs.append(body)
                return dict(body)
            self.result.errors.append(body)
        await self._until_closed(ws)
        return None

    async def _until_closed(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.TEXT:
                body = json.loads(message.data)
                if body.get("type") == "error":
                    self.result.errors.append(body)
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                if message.type == aiohttp.WSMsgType.CLOSE:
                    self.result.close_reason = str(message.extra or "")
                break
        self.result.close_code = ws.close_code

    async def _send_frames(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        config: dict[str, Any],
        replay_until: int | None,
        outage_pending: bool,
        reader: asyncio.Task[None],
    ) -> bool:
        """Replay what the bridge lacks, then follow the capture clock. True if the connection
        is to be cut (the scheduled outage), False when the file is done or the bridge closed."""
        started = time.monotonic()
        heartbeat_s = float(config.get("heartbeat_s") or 10)
        next_heartbeat = time.monotonic() + heartbeat_s
        held: list[tuple[int, Frame]] = []  # late frames and when to send them
        cursor: int | None = config.get("last_seq")
        while True:
            pending = [f for f in self._ring if cursor is None or seq_after(f.seq, cursor)]
            for frame in pending:
                if replay_until is not None and not seq_after(frame.seq, replay_until):
                    frame = Frame(frame.seq, frame.capture_us, frame.pcm, replay=True)
                    self.result.replayed += 1
                await self._send_with_faults(ws, frame, held)
                cursor = frame.seq
                at = self.faults.disconnect_at_s
                if outage_pending and at is not None and frame.capture_us / 1e6 >= at:
                    return True
                off = self.faults.power_off_at_s
                if off is not None and frame.capture_us / 1e6 >= off:
                    raise PowerOff
                stall = self.faults.stall_at_s
                if stall is not None and frame.capture_us / 1e6 >= stall:
                    await asyncio.shield(reader)  # until the bridge gives up on us
                    return False
            if self._capture_done and not [f for f in self._ring if cursor is None or seq_after(f.seq, cursor)]:
                for _due, frame in held:
                    await ws.send_bytes(frame.encode())
                    self.result.frames_sent += 1
                return False
            if time.monotonic() >= next_heartbeat:
                await ws.send_str(json.dumps({"type": "heartbeat", "uptime_ms": int((time.monotonic() - started) * 1000)}))
                next_heartbeat += heartbeat_s
            self._captured.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._captured.wait(), 1.0)
            if reader.done():
                return False

    async def _send_with_faults(self, ws: aiohttp.ClientWebSocketResponse, frame: Frame, held: list[tuple[int, Frame]]) -> None:
        """Send one frame through the simulated network; held-back frames go out after the
        frame they are due behind."""
        faults, rnd, result = self.faults, self.random, self.result
        if faults.drop and rnd.random() < faults.drop:
            result.dropped += 1
        elif faults.late and rnd.random() < faults.late:
            result.delayed += 1
            held.append(((frame.seq + 10) % SEQ_MOD, frame))
        elif faults.reorder and rnd.random() < faults.reorder:
            result.reordered += 1
            held.append(((frame.seq + 1) % SEQ_MOD, frame))
        else:
            await ws.send_bytes(frame.encode())
            result.frames_sent += 1
            if faults.duplicate and rnd.random() < faults.duplicate:
                result.duplicated += 1
                await ws.send_bytes(frame.encode())
        for item in [h for h in held if not seq_after(h[0], frame.seq)]:
            held.remove(item)
            await ws.send_bytes(item[1].encode())
            result.frames_sent += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", help="any audio file (decoded and resampled to 16 kHz mono)")
    parser.add_argument("--url", default="ws://127.0.0.1:8004/v1/device")
    parser.add_argument("--token", required=True, help="device token from POST /api/v1/devices")
    parser.add_argument("--speed", type=float, default=1.0, help="faster than real time (>1)")
    parser.add_argument("--reorder", type=float, default=0.0)
    parser.add_argument("--duplicate", type=float, default=0.0)
    parser.add_argument("--drop", type=float, default=0.0)
    parser.add_argument("--disconnect-at", type=float, default=None, help="cut the connection at this second")
    parser.add_argument("--outage", type=float, default=2.0, help="seconds away after the cut")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    faults = Faults(args.reorder, args.duplicate, args.drop, 0.0, args.disconnect_at, args.outage)
    simulator = DeviceSimulator(args.url, args.token, pcm_frames(decode_audio(args.audio)), speed=args.speed, faults=faults)
    result = asyncio.run(simulator.run())
    print(json.dumps(result.__dict__, indent=2, default=str))
    return 0 if result.close_code in (1000, None) and not result.errors else 1


if __name__ == "__main__":
    sys.exit(main())
