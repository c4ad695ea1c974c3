"""The RTP timeout: hang up a call whose leg has received no RTP for `[rtp] timeout` seconds.

A phone that lost its network, crashed, or sits behind a NAT mapping that expired never
sends a BYE; without this its call (and its trunk channel, and the bill) would last
forever. Checked once a second from the media clock, from the packet counters each
RtpSession keeps anyway: nothing is added to the per-packet path. A leg that is not
receiving by agreement (on hold: sendonly, recvonly or inactive, whoever asked for it) is
not timed, and its clock starts again when it is back to sendrecv.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from .channel import Channel, ChannelState

__all__ = ["CAUSE", "CHECK_EVERY", "RtpTimeout"]

log = logging.getLogger("softswitch.rtp_timeout")

CAUSE = "rtp timeout"  # the hang-up cause both legs and the CDR get
CHECK_EVERY = 50  # media ticks between checks: once a second at 20 ms


class RtpTimeout:
    """Watches the channels' RTP counters; calls `expire(channel)` for a silent one."""

    def __init__(
        self,
        channels: Iterable[Channel],
        timeout: float,
        expire: Callable[[Channel], None],
        now: Callable[[], float],
    ) -> None:
        self.timeout = timeout
        self._channels = channels
        self._expire = expire
        self._now = now
        # channel -> (packets counted when last seen moving, loop time since when unchanged)
        self._heard: dict[Channel, tuple[int, float]] = {}

    def tick(self, tick_no: int) -> None:
        """A media clock callback: checks on every CHECK_EVERY-th tick."""
        if tick_no % CHECK_EVERY == 0:
            self.check()

    def check(self) -> None:
        now = self._now()
        previous = self._heard
        heard: dict[Channel, tuple[int, float]] = {}
        for channel in self._channels:
            rtp = channel.rtp
            if channel.state != ChannelState.UP or rtp.closed:
                continue
            # what arrived on the socket from the peer, played or not (hold, other PTs)
            count = rtp.packets_received + rtp.ignored
            last = previous.get(channel)
            if rtp.direction != "sendrecv" or last is None or last[0] != count:
                heard[channel] = (count, now)
                continue
            heard[channel] = last
            if now - last[1] >= self.timeout:
                log.warning(
                    "channel %s call_id=%s: no RTP for %.0f s on port %d, hanging up",
                    channel.name,
                    channel.call_id,
                    now - last[1],
                    rtp.local_port,
                )
                del heard[channel]
                self._expire(channel)
        self._heard = heard
