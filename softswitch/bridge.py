"""A two-party bridge: each media tick, what one leg heard is what the other leg says."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from media.clock import MediaClock
from media.pcm import SILENCE

from .channel import Channel, DigitHandler

log = logging.getLogger("softswitch.bridge")


# (what a said, what b said) once per tick, None for a lost/absent frame: a recorder
Tap = Callable[[np.ndarray | None, np.ndarray | None], None]


class Bridge:
    def __init__(self, a: Channel, b: Channel, clock: MediaClock) -> None:
        self.a = a
        self.b = b
        self.clock = clock
        self.active = False
        # Set when the bridge is taken apart to rearrange its parties (a transfer):
        # hanging up one of them then must not hang up the other.
        self.detached = False
        self.tap: Tap | None = None

    def start(self) -> None:
        if self.active:
            return
        self.active = True
        # digits (RFC 4733, SIP INFO) are relayed as events, not as audio
        self.a.join(self, self.b, self._relay_dtmf(self.b))
        self.b.join(self, self.a, self._relay_dtmf(self.a))
        self.clock.add(self.tick)
        log.info("bridge %s <-> %s", self.a.name, self.b.name)

    def stop(self, *, detach: bool = False) -> None:
        if detach:
            self.detached = True
        if not self.active:
            return
        self.active = False
        self.clock.remove(self.tick)
        self.a.leave(self)
        self.b.leave(self)

    def other(self, channel: Channel) -> Channel:
        return self.b if channel is self.a else self.a

    def tick(self, _tick_no: int) -> None:
        # Transcoding is implicit: frames are linear PCM between decode and encode.
        a_said = self.a.rtp.read_frame()
        b_said = self.b.rtp.read_frame()
        self.b.rtp.write_frame(SILENCE if a_said is None else a_said)
        self.a.rtp.write_frame(SILENCE if b_said is None else b_said)
        if self.tap is not None:
            self.tap(a_said, b_said)

    @staticmethod
    def _relay_dtmf(to: Channel) -> DigitHandler:
        def relay(digit: str) -> None:
            log.info("dtmf %s -> %s", digit, to.name)
            to.rtp.send_dtmf(digit)

        return relay
