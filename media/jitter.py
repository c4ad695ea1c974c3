"""A small fixed-delay jitter buffer, one `pop()` per 20 ms tick.

Playout is driven by sequence numbers (extended past 65535), not timestamps:
a timestamp jump with continuous sequence numbers (silence suppression) just
plays on, while a new SSRC or a sequence jump beyond RFC 3550's dropout /
misorder limits starts the stream over (re-sync).

* Playout starts once `prefetch` frames are buffered; that delay is the window
  in which reordered packets are put back in order.
* A frame missing at its playout tick while later frames are already here is
  lost: `pop()` returns None with `lost` set, and playout moves on.
* An empty buffer (underrun) also returns None with `lost` set, but holds the
  playout point: the peer may only be late (its clock slower than ours) or
  paused. If a later frame arrives instead, the missing ones are counted lost
  and that frame plays at once (their ticks were already concealed). After
  `idle_after` empty ticks the buffer goes idle (`lost` False) and waits for
  `prefetch` frames again.
* More than `depth` frames queued (a burst, or the peer's clock faster than
  ours) drops the oldest so latency stays bounded.
* Packets at or before the playout point are late; repeats are duplicates.
"""

from __future__ import annotations

from media.rtp import MAX_DROPOUT, MAX_MISORDER, RtpPacket

__all__ = ["JitterBuffer"]


class JitterBuffer:
    __slots__ = (
        "prefetch",
        "depth",
        "idle_after",
        "lost",
        "_frames",
        "_ssrc",
        "_highest",
        "_next",
        "_floor",
        "_playing",
        "_empty",
        "received",
        "duplicates",
        "late",
        "lost_frames",
        "dropped",
        "resyncs",
    )

    def __init__(self, prefetch: int = 2, depth: int = 4, idle_after: int = 10) -> None:
        if not 1 <= prefetch <= depth:
            raise ValueError("need 1 <= prefetch <= depth")
        self.prefetch = prefetch
        self.depth = depth
        self.idle_after = idle_after
        # True when the last pop() returned None because audio is missing
        # mid-stream: the caller conceals; False when idle / not started yet.
        self.lost = False
        self._frames: dict[int, bytes] = {}
        self._ssrc: int | None = None
        self._highest = 0  # extended seq of the highest packet received
        self._next = 0  # extended seq of the frame to play next
        self._floor: int | None = None  # packets below this are late
        self._playing = False
        self._empty = 0  # consecutive pops that found the buffer empty
        self.received = 0
        self.duplicates = 0
        self.late = 0
        self.lost_frames = 0
        self.dropped = 0
        self.resyncs = 0

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def playing(self) -> bool:
        return self._playing

    def push(self, packet: RtpPacket) -> None:
        self.put(packet.seq, packet.ssrc, packet.payload)

    def put(self, seq: int, ssrc: int, payload: bytes) -> None:
        """Queue one frame's payload (the session's fast path: no RtpPacket needed)."""
        if ssrc != self._ssrc:
            if self._ssrc is not None:
                self.resyncs += 1
            self._restart(ssrc, seq)
            ext = seq
        else:
            delta = ((seq - self._highest + 32768) & 0xFFFF) - 32768
            if delta > MAX_DROPOUT or delta < -MAX_MISORDER:
                self.resyncs += 1
                self._restart(ssrc, seq)
                ext = seq
            else:
                ext = self._highest + delta
        floor = self._floor
        if floor is not None and ext < floor:
            self.late += 1
            return
        frames = self._frames
        if ext in frames:
            self.duplicates += 1
            return
        frames[ext] = payload
        self.received += 1
        if ext > self._highest:
            self._highest = ext

    def pop(self) -> bytes | None:
        """The payload to play this tick, or None (see `lost`)."""
        frames = self._frames
        if not self._playing:
            if len(frames) < self.prefetch:
                self.lost = False
                return None
            self._playing = True
            self._empty = 0
            self._next = min(frames)
        if self._highest - self._next >= self.depth:
            skip_to = self._highest - self.depth + 1
            for ext in [ext for ext in frames if ext < skip_to]:
                del frames[ext]
                self.dropped += 1
            self._next = skip_to
        payload = frames.pop(self._next, None)
        if payload is not None:
            self._next += 1
            self._floor = self._next
            self._empty = 0
            self.lost = False
            return payload
        if frames:
            if self._empty:
                # We already concealed the ticks of an underrun: the frames missing
                # up to the first one that did arrive are lost; play that one now.
                first = min(frames)
                self.lost_frames += first - self._next
                self._next = first + 1
                self._floor = self._next
                self._empty = 0
                self.lost = False
                return frames.pop(first)
            self._next += 1
            self._floor = self._next
            self.lost_frames += 1
            self.lost = True
            return None
        self._empty += 1
        if self._empty >= self.idle_after:
            self._playing = False
            self.lost = False
        else:
            self.lost = True
        return None

    def following(self) -> bytes | None:
        """After a pop() that found a frame lost: the payload after it, if it has
        already arrived (its FEC may rebuild the lost one); else None."""
        return self._frames.get(self._next)

    def reset(self) -> None:
        """Forget everything (codec change, new remote)."""
        self._frames.clear()
        self._ssrc = None
        self._floor = None
        self._playing = False
        self._empty = 0
        self.lost = False

    def _restart(self, ssrc: int, seq: int) -> None:
        self._frames.clear()
        self._ssrc = ssrc
        self._highest = seq
        self._next = seq
        self._floor = None
        self._playing = False
        self._empty = 0
