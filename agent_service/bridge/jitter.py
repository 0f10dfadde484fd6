"""Per-device jitter buffer: frames are played in sequence order however they arrive; short
holes become silence, long ones are skipped; when the device's clock runs ahead of ours (or a
reconnect replays a backlog), near-silent frames are dropped to bring latency back down."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agent_service.bridge.protocol import FRAME_BYTES, FRAME_MS, SEQ_MOD, Frame, seq_delta

QUIET_RMS = 300  # int16 RMS (about -40 dBFS): a frame this quiet may be dropped to catch up


@dataclass
class FrameStats:
    received: int = 0
    played: int = 0
    replayed: int = 0  # frames the device sent from its reconnect buffer
    duplicates: int = 0
    late: int = 0  # arrived after their turn was played (or skipped)
    gaps: int = 0  # missing frames played as silence
    skipped: int = 0  # missing frames in a hole too long to fill
    dropped_drift: int = 0  # quiet frames dropped to keep latency bounded
    overflow: int = 0  # frames dropped because the buffer exceeded its limit

    def as_dict(self) -> dict[str, int]:
        # Read after every frame published: a plain copy, not dataclasses.asdict's deep one.
        return dict(vars(self))


def is_quiet(pcm: bytes) -> bool:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    return bool(samples.size == 0 or np.sqrt(np.mean(samples * samples)) < QUIET_RMS)


class JitterBuffer:
    def __init__(
        self, *, jitter_ms: int = 60, max_queue_ms: int = 120, max_fill_ms: int = 1000, max_depth_ms: int = 10_000
    ) -> None:
        self.jitter_s = jitter_ms / 1000
        self.max_queue = max_queue_ms // FRAME_MS
        self.max_fill = max_fill_ms // FRAME_MS
        self.max_depth = max_depth_ms // FRAME_MS
        self.stats = FrameStats()
        # Sequence numbers are unwrapped to a 64-bit count so that 2^32 - 1 -> 0 is just +1.
        self._frames: dict[int, tuple[bytes, float]] = {}
        self._next: int | None = None  # the unwrapped seq to play next
        self._newest: int | None = None
        self._offset = 0  # where the current boot's seq 0 lies in the unwrapped count
        self._silence = bytes(FRAME_BYTES)

    @property
    def last_seq(self) -> int | None:
        """The newest frame received (wrapped), for the device to resume its replay after."""
        if self._newest is None or self._newest < self._offset:
            return None
        return (self._newest - self._offset) % SEQ_MOD

    @property
    def depth(self) -> int:
        return len(self._frames)

    def restart(self) -> None:
        """The device rebooted and numbers its frames from 0 again: the new boot's frames are
        placed right after the old boot's newest, so what is still buffered plays first."""
        if self._newest is not None:
            self._offset = self._newest + 1

    def _unwrap(self, seq: int) -> int:
        reference = self._next if self._next is not None else self._newest
        if reference is None:
            return seq + self._offset
        return reference + seq_delta(seq, reference - self._offset)

    def push(self, frame: Frame, now: float) -> bool:
        """Store a frame; False if it was a duplicate or too late to play."""
        self.stats.received += 1
        self.stats.replayed += frame.replay
        seq = self._unwrap(frame.seq)
        if self._next is not None and seq < self._next:
            self.stats.late += 1
            return False
        if seq in self._frames:
            self.stats.duplicates += 1
            return False
        self._frames[seq] = (frame.pcm, now)
        self._newest = seq if self._newest is None else max(self._newest, seq)
        self._silence = bytes(len(frame.pcm))
        while len(self._frames) > self.max_depth:
            self._frames.pop(min(self._frames))
            self.stats.overflow += 1
            self._next = min(self._frames)
        return True

    def pop(self, now: float) -> tuple[bytes, float | None] | None:
        """The next frame to publish and when it arrived (None for filled silence), or None
        if nothing is due yet."""
        while self._frames:
            oldest_arrival = min(arrival for _pcm, arrival in self._frames.values())
            if self._next is None:  # prebuffer the jitter target before starting
                if len(self._frames) * FRAME_MS / 1000 < self.jitter_s and now - oldest_arrival < self.jitter_s:
                    return None
                self._next = min(self._frames)
            if self._next in self._frames:
                pcm, arrival = self._frames.pop(self._next)
                self._next += 1
                if len(self._frames) > self.max_queue and is_quiet(pcm):
                    self.stats.dropped_drift += 1
                    continue
                self.stats.played += 1
                return pcm, arrival
            if now - oldest_arrival < self.jitter_s:
                return None  # the missing frame may still come
            first = min(self._frames)
            if first - self._next <= self.max_fill:
                self._next += 1
                self.stats.gaps += 1
                return self._silence, None
            self.stats.skipped += first - self._next
            self._next = first
        return None
