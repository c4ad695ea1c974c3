"""A two-party bridge: each media tick, what one leg heard is what the other leg says.

While one party holds the call (its re-INVITE offered sendonly/inactive or c=0.0.0.0)
the bridge stops ticking and its other party listens to the switch's shared music on
hold (media.moh.MohSource); with a recorder on the call it keeps ticking (the recording
goes on) and sends that party the same shared frame. Resuming puts the plain tick back:
the tick of a talking call has no hold test in it.

Pass-through: when nothing needs the decoded audio (no tap) and both legs speak the
same codec, `relay_tick` moves each leg's payload bytes to the other as they came out
of its jitter buffer, with no G.711 decode and encode (each leg still writes its own
SSRC, sequence numbers and timestamps; digits still cross as RFC 4733 events). A tap
set mid-call (recording) or a re-INVITE to another codec puts the decoding `tick`
back from the next tick on; both write through the same per-leg sequence, so the far
ends see one continuous stream. Any shared codec passes through: G.711, G.722, Opus.

Rates: a wideband leg (G.722, Opus: 16 kHz frames) bridged to a G.711 one is converted
by the writing session (`RtpSession.write_frame` resamples a frame of the other rate),
so `tick` has no rate test; two wideband legs of different codecs (G.722 and Opus)
cross at 16 kHz. A tap (the call recorder) is given the frames as read, at each leg's
rate: the recorder converts them to its file's rate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from media.clock import MediaClock
from media.moh import MohSource
from media.pcm import SILENCE

from .channel import Channel, DigitHandler

log = logging.getLogger("softswitch.bridge")


# (what a said, what b said) once per tick, None for a lost/absent frame: a recorder
Tap = Callable[[np.ndarray | None, np.ndarray | None], None]


class Bridge:
    def __init__(
        self,
        a: Channel,
        b: Channel,
        clock: MediaClock,
        moh: MohSource | None = None,
        *,
        passthrough: bool = True,
    ) -> None:
        self.a = a
        self.b = b
        self.clock = clock
        self.moh = moh  # what a held party hears (None: silence)
        # relay payloads undecoded while nothing listens and the codecs match (config
        # [rtp] passthrough; false: always decode and re-encode, as before it existed)
        self.passthrough = passthrough
        self.active = False
        # Set when the bridge is taken apart to rearrange its parties (a transfer):
        # hanging up one of them then must not hang up the other.
        self.detached = False
        self._tap: Tap | None = None
        self._ticking: Callable[[int], None] | None = None  # on the clock now
        self._hearing: list[Channel] = []  # listening to self.moh now

    @property
    def tap(self) -> Tap | None:
        return self._tap

    @tap.setter
    def tap(self, tap: Tap | None) -> None:
        self._tap = tap
        self._arrange()  # a call on hold that starts recording ticks again

    def start(self) -> None:
        if self.active:
            return
        self.active = True
        # digits (RFC 4733, SIP INFO) are relayed as events, not as audio
        self.a.join(self, self.b, self._relay_dtmf(self.b))
        self.b.join(self, self.a, self._relay_dtmf(self.a))
        self._arrange()
        log.info("bridge %s <-> %s", self.a.name, self.b.name)

    def stop(self, *, detach: bool = False) -> None:
        if detach:
            self.detached = True
        if not self.active:
            return
        self.active = False
        self._arrange()
        self.a.leave(self)
        self.b.leave(self)

    def other(self, channel: Channel) -> Channel:
        return self.b if channel is self.a else self.a

    def hold_changed(self) -> None:
        """A party put the call on hold or took it off (re-INVITE)."""
        self._arrange()
        log.info(
            "bridge %s <-> %s: %s",
            self.a.name,
            self.b.name,
            "on hold" if self.a.holding or self.b.holding else "resumed",
        )

    def _arrange(self) -> None:
        """Put on the clock and on the music what the parties' hold state asks for."""
        ticking: Callable[[int], None] | None = None
        hearing: list[Channel] = []
        if self.active:
            if not (self.a.holding or self.b.holding):
                ticking = self.relay_tick if self.passthrough and self._tap is None else self.tick
            elif self._tap is not None or self.moh is None:
                ticking = self.held_tick
            else:  # whose partner holds, not holding itself (a holder is sent nothing)
                pairs = ((self.a, self.b), (self.b, self.a))
                hearing = [x for x, y in pairs if y.holding and not x.holding]
        if ticking != self._ticking:
            if self._ticking is not None:
                self.clock.remove(self._ticking)
            if ticking is not None:
                self.clock.add(ticking)
            self._ticking = ticking
        if self.moh is not None:
            for channel in self._hearing:
                if channel not in hearing:
                    self.moh.remove(channel.rtp)
            for channel in hearing:
                self.moh.add(channel.rtp)
        self._hearing = hearing

    def held_tick(self, tick_no: int) -> None:
        """A tick on hold with a recorder (or no music): both are read for it, and the
        party whose partner holds hears the music of this tick."""
        a_said = self.a.rtp.read_frame()
        b_said = self.b.rtp.read_frame()
        music = SILENCE if self.moh is None else self.moh.music.frame(tick_no)
        # a holding leg is recvonly/inactive: write_frame sends it nothing
        self.b.rtp.write_frame(music if self.a.holding else (SILENCE if a_said is None else a_said))
        self.a.rtp.write_frame(music if self.b.holding else (SILENCE if b_said is None else b_said))
        if self._tap is not None:
            self._tap(a_said, b_said)

    def tick(self, _tick_no: int) -> None:
        # Transcoding is implicit: frames are linear PCM between decode and encode.
        a_said = self.a.rtp.read_frame()
        b_said = self.b.rtp.read_frame()
        self.b.rtp.write_frame(SILENCE if a_said is None else a_said)
        self.a.rtp.write_frame(SILENCE if b_said is None else b_said)
        if self._tap is not None:
            self._tap(a_said, b_said)

    def relay_tick(self, tick_no: int) -> None:
        """`tick` without the audio decoded: payloads cross as they are (same codec)."""
        a = self.a.rtp
        b = self.b.rtp
        if a.codec != b.codec:  # a re-INVITE changed one leg's codec: transcode
            self.tick(tick_no)
            return
        a_said = a.read_payload()
        b_said = b.read_payload()
        b.write_payload(b.silence if a_said is None else a_said)
        a.write_payload(a.silence if b_said is None else b_said)

    @staticmethod
    def _relay_dtmf(to: Channel) -> DigitHandler:
        def relay(digit: str) -> None:
            log.info("dtmf %s -> %s", digit, to.name)
            to.rtp.send_dtmf(digit)

        return relay
