"""What a channel hears and says while it is not bridged to another party.

Once per media tick: read the caller's frame (in-band DTMF detection, an optional
listener such as a recorder), and send the current prompt's next frame or silence.
Digits from RFC 4733, SIP INFO and in-band tones all end up in one queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np

from media.clock import MediaClock
from media.inband import InbandDtmfDetector
from media.pcm import FRAME, SILENCE
from media.player import Player, PlayResult

from .channel import Channel

# A phone that sends RFC 4733 events may leave the tone in the audio too: an in-band
# digit this soon after an event digit is the same key press.
INBAND_HOLDOFF = 0.5

FrameListener = Callable[[np.ndarray], None]


class ChannelAudio:
    def __init__(self, channel: Channel, clock: MediaClock) -> None:
        self.channel = channel
        self.clock = clock
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.pressed: list[str] = []  # every digit, for the CDR's dtmf_inputs
        self.listener: FrameListener | None = None
        self.player: Player | None = None
        self._inband = InbandDtmfDetector()
        self._last_event = 0.0
        self.active = False

    def start(self) -> None:
        if self.active:
            return
        self.active = True
        self.channel.listen_digits(self._event_digit)
        self.clock.add(self.tick)

    def stop(self) -> None:
        if not self.active:
            return
        self.active = False
        self.clock.remove(self.tick)
        self.channel.listen_digits(None)
        if self.player is not None:
            self.player.stop()
            self.player = None

    def tick(self, _tick_no: int) -> None:
        rtp = self.channel.rtp
        frame = rtp.read_frame()
        if frame is not None:
            if frame.shape[0] != FRAME:  # a wideband leg: detection and listeners run at 8 kHz
                frame = rtp.narrow(frame)
            for digit in self._inband.feed(frame):
                if time.monotonic() - self._last_event > INBAND_HOLDOFF:
                    self._digit(digit)
            if self.listener is not None:
                self.listener(frame)
        out = None
        if self.player is not None:
            out = self.player.next_frame()
            if out is None:
                self.player = None
        rtp.write_frame(SILENCE if out is None else out)

    async def play(self, player: Player) -> PlayResult:
        """Play a prompt (replacing any other) and wait until it ends."""
        if self.player is not None:
            self.player.stop()
        self.player = player
        return await player.wait()

    def background(self, player: Player) -> None:
        """Play without waiting (ringback, music on hold); replaced by the next prompt."""
        if self.player is not None:
            self.player.stop()
        self.player = player

    def quiet(self) -> None:
        if self.player is not None:
            self.player.stop()
            self.player = None

    def _event_digit(self, digit: str) -> None:
        self._last_event = time.monotonic()
        self._digit(digit)

    def _digit(self, digit: str) -> None:
        self.pressed.append(digit)
        self.digits.put_nowait(digit)
        if self.player is not None:
            self.player.dtmf(digit)
