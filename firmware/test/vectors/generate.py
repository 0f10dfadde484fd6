#!/usr/bin/env python3
"""Writes the shared frame test vectors (docs/device-protocol.md) and their manifest.

Run from anywhere: python3 firmware/test/vectors/generate.py. The output is checked in; the C tests
(test/test_vectors.c) and the Python bridge tests both read vectors.tsv and decode every file.
Frames are assembled byte by byte here, independent of either implementation's encoder.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = ["file", "expect", "version", "kind", "flags", "seq", "capture_us", "payload_bytes", "error_reason"]


def tone(samples: int) -> bytes:
    """A 440 Hz sine at 16 kHz, s16le: recognisable if anyone plays the payload."""
    return b"".join(struct.pack("<h", round(8000 * math.sin(2 * math.pi * 440 * i / 16000))) for i in range(samples))


def frame(version: int, kind: int, flags: int, seq: int, capture_us: int, payload: bytes) -> bytes:
    return struct.pack("<BBHIQ", version, kind, flags, seq, capture_us) + payload


# (file, expect, version, kind, flags, seq, capture_us, payload, error_reason)
VECTORS = [
    ("ok_normal_640.bin", "ok", 1, 1, 0, 41, 820_000, tone(320), "-"),
    ("ok_replay_flag.bin", "ok", 1, 1, 1, 42, 840_000, tone(320), "-"),
    ("ok_seq_max.bin", "ok", 1, 1, 0, 0xFFFF_FFFF, 85_899_345_900_000, tone(320), "-"),
    ("ok_large_capture_us.bin", "ok", 1, 1, 0, 7, 0xFFFF_FFFF_FFFF_FFFF, tone(320), "-"),
    ("ok_min_payload_2.bin", "ok", 1, 1, 0, 1, 20_000, tone(1), "-"),
    ("ok_max_payload_3200.bin", "ok", 1, 1, 1, 2, 40_000, tone(1600), "-"),
    ("err_bad_version_2.bin", "error", 2, 1, 0, 41, 820_000, tone(320), "bad_version"),
    ("err_bad_kind_7.bin", "error", 1, 7, 0, 41, 820_000, tone(320), "bad_kind"),
    ("err_unknown_flag_bit1.bin", "error", 1, 1, 2, 41, 820_000, tone(320), "unknown_flags"),
    ("err_empty_payload.bin", "error", 1, 1, 0, 41, 820_000, b"", "empty_payload"),
    ("err_odd_payload_641.bin", "error", 1, 1, 0, 41, 820_000, tone(320) + b"\x00", "odd_payload"),
    ("err_oversized_payload_3202.bin", "error", 1, 1, 0, 41, 820_000, tone(1601), "oversized_payload"),
]


def main() -> None:
    rows = ["\t".join(COLUMNS)]
    for name, expect, version, kind, flags, seq, capture_us, payload, reason in VECTORS:
        (HERE / name).write_bytes(frame(version, kind, flags, seq, capture_us, payload))
        rows.append("\t".join(map(str, [name, expect, version, kind, flags, seq, capture_us, len(payload), reason])))

    # 10 bytes: not even a whole header, so no field can be read ("-").
    short = frame(1, 1, 0, 41, 820_000, b"")[:10]
    (HERE / "err_short_header_10.bin").write_bytes(short)
    rows.append("\t".join(["err_short_header_10.bin", "error", "-", "-", "-", "-", "-", "-", "short_header"]))

    (HERE / "vectors.tsv").write_text("\n".join(rows) + "\n", encoding="ascii")


if __name__ == "__main__":
    main()
