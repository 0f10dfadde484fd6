"""The device protocol codec and the jitter buffer, without a network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agent_service.bridge.jitter import JitterBuffer
from agent_service.bridge.protocol import (
    FRAME_BYTES,
    HEADER,
    Frame,
    ProtocolError,
    UnsupportedAudio,
    check_hello,
    decode_frame,
    hello,
    parse_control,
    seq_after,
)

pytestmark = [pytest.mark.unit]

VECTORS = Path(__file__).resolve().parents[2] / "firmware" / "test" / "vectors"
LOUD = (np.full(FRAME_BYTES // 2, 8000, dtype="<i2")).tobytes()
QUIET = bytes(FRAME_BYTES)


def frame(seq: int, pcm: bytes = LOUD, replay: bool = False) -> Frame:
    return Frame(seq, seq * 20_000, pcm, replay)


def test_frames_round_trip_and_wrap() -> None:
    original = Frame(0xFFFF_FFFF, 2**40, LOUD, replay=True)
    wire = original.encode()
    assert len(wire) == 16 + FRAME_BYTES
    assert wire[:4] == bytes([1, 1, 1, 0])
    assert decode_frame(wire) == original


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"\x01\x01\x00", "shorter than"),
        (bytes([2, 1, 0, 0]) + bytes(12) + LOUD, "version 2"),
        (bytes([1, 7, 0, 0]) + bytes(12) + LOUD, "kind 7"),
        (bytes([1, 1, 2, 0]) + bytes(12) + LOUD, "flags"),
        (bytes([1, 1, 0, 0]) + bytes(12) + b"\x00\x01\x02", "even"),
        (bytes([1, 1, 0, 0]) + bytes(12) + bytes(3202), "even"),
        (bytes([1, 1, 0, 0]) + bytes(12), "even"),
    ],
)
def test_bad_frames_are_protocol_errors(wire: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        decode_frame(wire)


def test_shared_frame_vectors_decode_as_the_firmware_expects() -> None:
    """firmware/test/vectors is checked by the C tests too: both sides agree on every byte."""
    rows = [line.split("\t") for line in (VECTORS / "vectors.tsv").read_text().splitlines()[1:] if line.strip()]
    assert len(rows) >= 8
    for name, expect, version, kind, flags, seq, capture_us, payload_bytes, *_reason in rows:
        data = (VECTORS / name).read_bytes()
        if expect == "ok":
            frame = decode_frame(data)
            assert (HEADER.unpack_from(data)[:3]) == (int(version), int(kind), int(flags)), name
            assert (frame.seq, frame.capture_us, len(frame.pcm)) == (int(seq), int(capture_us), int(payload_bytes)), name
            assert frame.encode() == data, name
        else:
            with pytest.raises(ProtocolError):
                decode_frame(data)


def test_hello_and_control_messages() -> None:
    check_hello(parse_control(hello()))
    stereo = json.loads(hello())
    stereo["audio"]["channels"] = 2
    with pytest.raises(UnsupportedAudio):
        check_hello(stereo)
    with pytest.raises(ProtocolError, match="hello"):
        check_hello({"type": "heartbeat"})
    for bad in ("{", "[]", '{"type": 3}'):
        with pytest.raises(ProtocolError):
            parse_control(bad)


def test_serial_number_order() -> None:
    assert seq_after(1, 0) and seq_after(0, 0xFFFF_FFFF) and not seq_after(0xFFFF_FFFF, 0)
    assert not seq_after(5, 5)


def drain(buffer: JitterBuffer, now: float) -> list[bytes]:
    out = []
    while (item := buffer.pop(now)) is not None:
        out.append(item[0])
    return out


def test_reordered_and_duplicate_frames_play_in_order() -> None:
    buffer = JitterBuffer(jitter_ms=60)
    payloads = {seq: np.full(FRAME_BYTES // 2, 1000 + seq, dtype="<i2").tobytes() for seq in range(6)}
    for seq in (1, 0, 3, 2, 2, 5, 4):
        buffer.push(frame(seq, payloads[seq]), now=0.0)
    assert drain(buffer, now=0.0) == [payloads[s] for s in range(6)]
    assert buffer.stats.duplicates == 1 and buffer.stats.gaps == 0
    buffer.push(frame(1), now=0.1)  # already played
    assert buffer.stats.late == 1
    assert buffer.last_seq == 5


def test_missing_frame_becomes_silence_after_the_jitter_target() -> None:
    buffer = JitterBuffer(jitter_ms=60)
    for seq in (0, 1, 2, 4):
        buffer.push(frame(seq), now=0.0)
    assert len(drain(buffer, now=0.0)) == 3  # waits for 3
    assert buffer.pop(now=0.03) is None
    silence = buffer.pop(now=0.07)
    assert silence is not None and silence == (QUIET, None)
    assert drain(buffer, now=0.07) == [LOUD]
    assert buffer.stats.gaps == 1
    buffer.push(frame(3), now=0.08)  # the missing one, too late
    assert buffer.stats.late == 1


def test_long_holes_are_skipped_not_filled() -> None:
    buffer = JitterBuffer(jitter_ms=60, max_fill_ms=1000)
    buffer.push(frame(0), now=0.0)
    buffer.push(frame(1), now=0.0)
    buffer.push(frame(2), now=0.0)
    drain(buffer, 0.0)
    buffer.push(frame(500), now=1.0)
    assert drain(buffer, now=1.1) == [LOUD]
    assert buffer.stats.skipped == 497 and buffer.stats.gaps == 0


def test_sequence_wraps_without_a_hole() -> None:
    buffer = JitterBuffer()
    start = 0xFFFF_FFFD
    for i in range(6):
        buffer.push(frame((start + i) % 2**32), now=0.0)
    assert len(drain(buffer, now=0.0)) == 6
    assert buffer.stats.gaps == buffer.stats.skipped == buffer.stats.late == 0
    assert buffer.last_seq == 2


def test_backlog_drops_quiet_frames_but_keeps_speech() -> None:
    buffer = JitterBuffer(max_queue_ms=300)
    # A replayed backlog of 2 s: speech and silence alternating every 100 ms.
    pcm = [LOUD if (i // 5) % 2 == 0 else QUIET for i in range(100)]
    for seq, data in enumerate(pcm):
        buffer.push(frame(seq, data, replay=True), now=0.0)
    played = drain(buffer, now=0.0)
    assert played.count(LOUD) == 50  # no speech lost
    assert buffer.stats.dropped_drift > 0 and played.count(QUIET) == 50 - buffer.stats.dropped_drift
    assert buffer.stats.replayed == 100


def test_a_reboot_continues_after_the_old_boots_frames() -> None:
    buffer = JitterBuffer()
    for seq in range(5):
        buffer.push(frame(seq + 1000), now=0.0)
    assert buffer.pop(now=0.0) is not None  # one played, four still buffered
    buffer.restart()
    assert buffer.last_seq is None
    for seq in range(3):  # the new boot counts from 0
        assert buffer.push(frame(seq), now=0.01)
    assert len(drain(buffer, now=0.01)) == 4 + 3
    assert buffer.last_seq == 2
    assert buffer.stats.late == buffer.stats.skipped == buffer.stats.gaps == 0
