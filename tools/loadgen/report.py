"""Figures from what the streams recorded, computed once at the end in numpy.

For the steady window only (every call up, jitter buffers filled):
- send-interval error: per stream the switch sent us, |arrival(n+1) - arrival(n) - 20 ms|
  over consecutive sequence numbers, arrival stamped by the kernel;
- sequence loss: sequence numbers missing from what the switch sent us;
- end-to-end loss: frames our other leg of the same call sent in the window whose tag
  never came out of the switch (dropped on input, by the jitter buffer or on output);
- substituted: frames in the window whose payload was not one of our tags (silence or
  concealment the switch sent instead of audio); misrouted: tags of another call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from media.pcm import FRAME_SECONDS

from .media import RECORD_BYTES, TAG_BYTES, Stream, tag_check

__all__ = ["CallRecord", "DirectionStats", "analyze", "decode", "percentiles"]

DIRECTIONS = {"uas": "caller->callee", "uac": "callee->caller"}  # receiving role -> direction


@dataclass(slots=True)
class CallRecord:
    index: int
    number: str
    uac: Stream | None = None
    uas: Stream | None = None
    setup_started: float = 0.0
    setup_seconds: float | None = None  # INVITE sent -> 200 received
    acked: bool = False  # the callee side saw the ACK
    error: str = ""
    dropped: bool = False  # the switch hung up on us during the test
    bye_status: int | None = None
    call: Any = None  # caller.OutgoingCall


@dataclass(slots=True)
class Decoded:
    arrival_ns: np.ndarray
    seq: np.ndarray
    payload_type: np.ndarray
    counter: np.ndarray
    stream_id: np.ndarray
    tagged: np.ndarray  # payload starts with one of our tags


def decode(stream: Stream) -> Decoded:
    heads = np.frombuffer(bytes(stream.rx_head), dtype=np.uint8).reshape(-1, RECORD_BYTES)
    times = np.frombuffer(bytes(stream.rx_time), dtype=np.int64).reshape(-1, 2)
    arrival = times[:, 0] * 1_000_000_000 + times[:, 1]
    seq = (heads[:, 2].astype(np.int64) << 8) | heads[:, 3]
    tag = heads[:, 12 : 12 + TAG_BYTES].astype(np.int64)
    six = tag & 0x3F
    counter = (six[:, 0] << 18) | (six[:, 1] << 12) | (six[:, 2] << 6) | six[:, 3]
    stream_id = (six[:, 4] << 18) | (six[:, 5] << 12) | (six[:, 6] << 6) | six[:, 7]
    check = (six[:, 8] << 12) | (six[:, 9] << 6) | six[:, 10]
    tagged = np.all((tag & 0xC0) == 0x80, axis=1) & (check == tag_check(counter, stream_id))
    return Decoded(arrival, seq, heads[:, 1] & 0x7F, counter, stream_id, tagged)


@dataclass(slots=True)
class DirectionStats:
    name: str
    streams: int = 0
    generator_sent: int = 0  # frames our sending legs sent in the window
    switch_sent: int = 0  # packets the switch sent us that arrived in the window
    seq_lost: int = 0
    reordered: int = 0
    e2e_lost: int = 0
    substituted: int = 0
    misrouted: int = 0
    errors_ms: list[np.ndarray] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "streams": self.streams,
            "generator_sent": self.generator_sent,
            "switch_sent": self.switch_sent,
            "seq_lost": self.seq_lost,
            "reordered": self.reordered,
            "e2e_lost": self.e2e_lost,
            "substituted": self.substituted,
            "misrouted": self.misrouted,
            "interval_error_ms": percentiles(_concat(self.errors_ms)),
        }


def _concat(parts: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def percentiles(values: np.ndarray) -> dict[str, float | int | None]:
    if values.size == 0:
        return {"count": 0, "p50": None, "p99": None, "p999": None, "max": None}
    p50, p99, p999 = np.percentile(values, [50, 99, 99.9])
    return {
        "count": int(values.size),
        "p50": round(float(p50), 3),
        "p99": round(float(p99), 3),
        "p999": round(float(p999), 3),
        "max": round(float(values.max()), 3),
    }


def _receive_side(
    stats: DirectionStats,
    receiver: Stream,
    sender: Stream,
    window_ns: tuple[int, int],
    start: str,
    end: str,
) -> None:
    d = decode(receiver)
    inside = (d.arrival_ns >= window_ns[0]) & (d.arrival_ns < window_ns[1]) & (d.payload_type == 0)
    arrival = d.arrival_ns[inside]
    seq = d.seq[inside]
    stats.streams += 1
    stats.switch_sent += int(arrival.size)
    if arrival.size >= 2:
        step = ((np.diff(seq) + 32768) % 65536) - 32768
        stats.seq_lost += int(np.sum(step[step > 1] - 1))
        stats.reordered += int(np.sum(step <= 0))
        gaps_ms = np.diff(arrival)[step == 1] / 1e6
        stats.errors_ms.append(np.abs(gaps_ms - FRAME_SECONDS * 1000))
    # end to end: the frames the other leg sent during the window, wherever they arrived
    first, last = sender.marks.get(start, 0), sender.marks.get(end, sender.sent)
    stats.generator_sent += last - first
    peer = sender.stream_id
    ours = d.tagged & (d.stream_id == peer)
    counters = np.unique(d.counter[ours])
    delivered = int(np.sum((counters >= first) & (counters < last)))
    stats.e2e_lost += (last - first) - delivered
    stats.substituted += int(np.sum(inside & ~d.tagged))
    stats.misrouted += int(np.sum(d.tagged & (d.stream_id != peer)))


def analyze(
    records: Sequence[CallRecord],
    window_ns: tuple[int, int],
    start: str = "steady",
    end: str = "end",
) -> dict[str, Any]:
    """Per direction figures over the steady window, plus the pooled interval error."""
    directions = {role: DirectionStats(name) for role, name in DIRECTIONS.items()}
    for record in records:
        if record.uac is None or record.uas is None:
            continue
        _receive_side(directions["uas"], record.uas, record.uac, window_ns, start, end)
        _receive_side(directions["uac"], record.uac, record.uas, window_ns, start, end)
    pooled = _concat([e for stats in directions.values() for e in stats.errors_ms])
    return {
        "directions": {stats.name: stats.as_dict() for stats in directions.values()},
        "interval_error_ms": percentiles(pooled),
    }
