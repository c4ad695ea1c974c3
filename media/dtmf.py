"""RFC 4733 telephone-events (DTMF digits over RTP).

Payload: event (8 bits), E bit, R bit, volume (6 bits), duration (16 bits, in
timestamp units). Digits 0-9 * # A-D are events 0-15.

`DtmfSender` is a per-tick state machine: one packet per 20 ms tick, the first
with the RTP marker bit, duration growing by one frame each tick, and the
final (E bit) packet sent three times, all with the event's start timestamp.

`DtmfReceiver` reports each event ONCE, on the first packet of it that
arrives (lowest latency; it does not need the end packet, which is the one
most worth losing since it is the last of a train). Events are told apart by
their RTP timestamp (and event code, for senders that reuse a timestamp), so
the updates and the three end packets that follow are ignored; the latest
event's duration, volume and end flag stay readable as `last`.

An event is at most 0xFFFF timestamp units (8.19 s at 8 kHz) here: longer
digits are cut to that length rather than split into RFC 4733 segments.

The keypad's tone pairs (ITU-T Q.23) live here too: the in-band detector and
the tone generator both need them.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

from media.pcm import FRAME, RATE

__all__ = [
    "COLS",
    "DIGITS",
    "KEYS",
    "ROWS",
    "DtmfEvent",
    "DtmfPacket",
    "DtmfReceiver",
    "DtmfSender",
    "tone_pair",
]

DIGITS = "0123456789*#ABCD"  # in RFC 4733 event order: event n is DIGITS[n]
ROWS = (697.0, 770.0, 852.0, 941.0)  # Hz, low group
COLS = (1209.0, 1336.0, 1477.0, 1633.0)  # Hz, high group
KEYS = ("123A", "456B", "789C", "*0#D")  # KEYS[row][col]
_EVENT = struct.Struct("!BBH")
_MAX_DURATION = 0xFFFF


def tone_pair(digit: str) -> tuple[float, float]:
    """(row Hz, column Hz) of a keypad digit; ValueError if not a DTMF digit."""
    for row, keys in zip(ROWS, KEYS, strict=True):
        col = keys.find(digit.upper()) if len(digit) == 1 else -1
        if col >= 0:
            return row, COLS[col]
    raise ValueError(f"not a DTMF digit: {digit!r}")


@dataclass(slots=True)
class DtmfEvent:
    digit: str
    end: bool = False
    volume: int = 10  # power level as -dBm0, 0..63
    duration: int = 0  # timestamp units since the event started

    @property
    def event(self) -> int:
        return DIGITS.index(self.digit)

    @classmethod
    def parse(cls, payload: bytes) -> DtmfEvent:
        """The (first) event of a telephone-event payload; ValueError if not a DTMF digit."""
        if len(payload) < 4:
            raise ValueError("telephone-event payload shorter than 4 bytes")
        event, flags, duration = _EVENT.unpack_from(payload)
        if event >= len(DIGITS):
            raise ValueError(f"telephone-event {event} is not a DTMF digit")
        return cls(DIGITS[event], bool(flags & 0x80), flags & 0x3F, duration)

    def to_bytes(self) -> bytes:
        digit = self.digit.upper()
        if len(digit) != 1 or digit not in DIGITS:
            raise ValueError(f"not a DTMF digit: {self.digit!r}")
        if not 0 <= self.volume <= 63:
            raise ValueError("volume must be 0..63")
        if not 0 <= self.duration <= _MAX_DURATION:
            raise ValueError("duration must fit 16 bits")
        return _EVENT.pack(
            DIGITS.index(digit), (0x80 if self.end else 0) | self.volume, self.duration
        )


@dataclass(slots=True)
class DtmfPacket:
    """One telephone-event RTP packet the sender wants on the wire this tick."""

    payload: bytes
    timestamp: int  # the event's start timestamp (same for every packet of the event)
    marker: bool


class DtmfSender:
    """Turns queued digits into RFC 4733 packet trains, one packet per `tick()`."""

    __slots__ = (
        "volume",
        "frame_samples",
        "end_repeats",
        "gap_ticks",
        "active",
        "_queue",
        "_digit",
        "_total",
        "_timestamp",
        "_elapsed",
        "_ends_left",
        "_gap",
        "clock",
    )

    def __init__(
        self,
        *,
        volume: int = 10,
        frame_samples: int = FRAME,
        end_repeats: int = 3,
        gap_ticks: int = 2,
    ) -> None:
        if not 0 <= volume <= 63:
            raise ValueError("volume must be 0..63 (-dBm0)")
        if end_repeats < 1:
            raise ValueError("the end packet must be sent at least once")
        self.volume = volume
        self.frame_samples = frame_samples  # RTP timestamp units per tick
        self.clock = RATE  # the RTP clock (the audio codec's: 48000 for Opus)
        self.end_repeats = end_repeats
        self.gap_ticks = gap_ticks  # silent ticks between two events
        self._queue: deque[tuple[str, int]] = deque()
        self._digit: str | None = None
        self._total = 0
        self._timestamp = 0
        self._elapsed = 0
        self._ends_left = 0
        self._gap = 0
        # True while an event is on the wire or queued (audio should not be sent): an
        # attribute, not a property, because the session reads it for every packet sent
        self.active = False

    def send(self, digit: str, duration_ms: int = 100) -> None:
        """Queue a digit; it goes out after the ones already queued."""
        digit = digit.upper()
        if len(digit) != 1 or digit not in DIGITS:
            raise ValueError(f"not a DTMF digit: {digit!r}")
        # rounded up to whole ticks
        frames = max(1, -(-int(duration_ms) * (self.clock // 1000) // self.frame_samples))
        total = min(
            frames * self.frame_samples, _MAX_DURATION // self.frame_samples * self.frame_samples
        )
        self._queue.append((digit, total))
        self.active = True

    def clear(self) -> None:
        """Drop the queued digits and any event in progress (e.g. the call went on hold)."""
        self._queue.clear()
        self._digit = None
        self._gap = 0
        self.active = False

    def tick(self, timestamp: int) -> DtmfPacket | None:
        """The packet for this tick; `timestamp` is the RTP timestamp of this tick's frame."""
        if self._digit is None:
            if self._gap:
                self._gap -= 1
                return None
            if not self._queue:
                return None
            self._digit, self._total = self._queue.popleft()
            self._timestamp = timestamp & 0xFFFFFFFF
            self._elapsed = 0
            self._ends_left = self.end_repeats
        first = self._elapsed == 0
        if self._elapsed < self._total:
            self._elapsed += self.frame_samples
        end = self._elapsed >= self._total
        payload = DtmfEvent(self._digit, end, self.volume, self._elapsed).to_bytes()
        if end:
            self._ends_left -= 1
            if self._ends_left <= 0:
                self._digit = None
                self._gap = self.gap_ticks if self._queue else 0
                self.active = bool(self._queue)
        return DtmfPacket(payload, self._timestamp, first)

    @property
    def event_samples(self) -> int:
        """Length of the event in progress, in timestamp units (0 when idle)."""
        return self._total if self._digit is not None else 0


class DtmfReceiver:
    """Reports each received event once (on its first packet), deduplicated by timestamp."""

    __slots__ = ("_recent", "_last_key", "last")

    def __init__(self, memory: int = 16) -> None:
        self._recent: deque[tuple[int, int]] = deque(maxlen=memory)
        self._last_key: tuple[int, int] | None = None
        # The most recent event as far as received: its duration grows with the
        # updates, `end` is set by its end packet (None before any event).
        self.last: DtmfEvent | None = None

    def feed(self, payload: bytes, timestamp: int) -> str | None:
        """The digit if this packet starts a new event, else None (also for non-DTMF events)."""
        if len(payload) < 4 or payload[0] >= len(DIGITS):
            return None
        key = (timestamp, payload[0])
        if key == self._last_key and self.last is not None:
            # an update or end packet of the current event (late ones never shorten it)
            event = DtmfEvent.parse(payload)
            last = self.last
            last.end = last.end or event.end
            last.duration = max(last.duration, event.duration)
            last.volume = event.volume
            return None
        if key in self._recent:
            return None  # a straggler of an older event
        self._recent.append(key)
        self._last_key = key
        self.last = DtmfEvent.parse(payload)
        return DIGITS[payload[0]]
