"""Wire format of docs/device-protocol.md, version 1: binary audio frames with a 16-byte header,
JSON control messages, close codes. Shared by the bridge and the simulator (the firmware has
its own C implementation; both are checked against firmware/test/vectors)."""

from __future__ import annotations

import enum
import json
import struct
from dataclasses import dataclass
from typing import Any

VERSION = 1
KIND_AUDIO = 1
FLAG_REPLAY = 0x0001
HEADER = struct.Struct("<BBHIQ")  # version, kind, flags, seq, capture_us
MAX_PAYLOAD = 3200  # 100 ms at 16 kHz
SAMPLE_RATE = 16_000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * 2
SEQ_MOD = 1 << 32


class Close(enum.IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    TRY_AGAIN_LATER = 1013
    UNAUTHORIZED = 4001
    PROTOCOL_ERROR = 4002
    UNSUPPORTED_AUDIO = 4003
    IDLE_TIMEOUT = 4008
    REPLACED = 4009


class ProtocolError(ValueError):
    """A message that breaks the protocol; the connection is closed with 4002 and this reason."""

    code = Close.PROTOCOL_ERROR


class UnsupportedAudio(ProtocolError):
    code = Close.UNSUPPORTED_AUDIO


@dataclass(frozen=True)
class Frame:
    seq: int
    capture_us: int
    pcm: bytes
    replay: bool = False

    def encode(self) -> bytes:
        flags = FLAG_REPLAY if self.replay else 0
        return HEADER.pack(VERSION, KIND_AUDIO, flags, self.seq % SEQ_MOD, self.capture_us) + self.pcm


def decode_frame(data: bytes) -> Frame:
    if len(data) < HEADER.size:
        raise ProtocolError(f"frame of {len(data)} bytes is shorter than the {HEADER.size}-byte header")
    version, kind, flags, seq, capture_us = HEADER.unpack_from(data)
    if version != VERSION:
        raise ProtocolError(f"frame version {version} is not supported (expected {VERSION})")
    if kind != KIND_AUDIO:
        raise ProtocolError(f"frame kind {kind} is unknown")
    if flags & ~FLAG_REPLAY:
        raise ProtocolError(f"unknown frame flags 0x{flags:04x}")
    payload = data[HEADER.size :]
    if not payload or len(payload) % 2 or len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes: must be an even 2..{MAX_PAYLOAD}")
    return Frame(seq, capture_us, payload, bool(flags & FLAG_REPLAY))


def parse_control(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"control message is not JSON: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("control message must be a JSON object with a string 'type'")
    return message


def check_hello(message: dict[str, Any]) -> None:
    if message.get("type") != "hello":
        raise ProtocolError(f"expected 'hello' first, got {message.get('type')!r}")
    if message.get("protocol") != VERSION:
        raise ProtocolError(f"protocol {message.get('protocol')!r} is not supported (expected {VERSION})")
    audio = message.get("audio")
    if not isinstance(audio, dict):
        raise ProtocolError("hello has no 'audio' object")
    boot_id = message.get("boot_id")
    if boot_id is not None and not (isinstance(boot_id, str) and 0 < len(boot_id) <= 32):
        raise ProtocolError("boot_id must be a short string")
    wanted = {"encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE, "channels": 1}
    got = {key: audio.get(key) for key in wanted}
    if got != wanted:
        raise UnsupportedAudio(f"audio {got} is not supported; send {wanted}")


def hello(boot_id: str = "00000001", firmware: str = "sim-1.0", hardware: str = "simulator") -> str:
    return json.dumps(
        {
            "type": "hello",
            "protocol": VERSION,
            "firmware": firmware,
            "hardware": hardware,
            "boot_id": boot_id,
            "audio": {"encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE, "channels": 1, "frame_ms": FRAME_MS},
        }
    )


def seq_delta(seq: int, reference: int) -> int:
    """How far ``seq`` is after ``reference`` (negative: before), in serial-number arithmetic
    (RFC 1982) on 32-bit sequence numbers, so 2^32 - 1 -> 0 is +1."""
    delta = (seq - reference) % SEQ_MOD
    return delta - SEQ_MOD if delta >= SEQ_MOD // 2 else delta


def seq_after(seq: int, reference: int) -> bool:
    """Is ``seq`` newer than ``reference``?"""
    return seq_delta(seq, reference) > 0
