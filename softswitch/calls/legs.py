"""Dialing, holding and bridging the legs of a call.

`Legs.ring` is the one ring-and-hold step every second leg takes (click2call's
destination, a flow's connect step, both transfers): the party already up hears
ringback while the new leg is dialed, and the new leg is dropped if that party leaves.
`Legs.bridge` is the one way two parties of a call are joined: through the switch's
bridge, with the call's recorder as its tap, and with their hang-ups linked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from media.player import Player
from media.tones import ringback

from ..bridge import Bridge
from ..channel import Channel, ChannelEvent, ChannelState, Listener
from ..channel_audio import ChannelAudio
from ..routing import normalize
from ..switch import Switch, SwitchError
from .live import LiveCall
from .tasks import CallTasks

_NOT_ANSWERED = (ChannelState.DOWN, ChannelState.RINGING, ChannelState.EARLY)


class Follow(StrEnum):
    """When the holding party hangs up, whether the leg dialed for it goes too."""

    WHILE_RINGING = "while ringing"  # only until it answers (a linked bridge does the rest)
    ALWAYS = "always"  # for as long as it lives
    NEVER = "never"  # the caller of `ring` sorts the parties out itself


@dataclass(frozen=True, slots=True)
class Dialed:
    """What `Legs.ring` came to."""

    channel: Channel | None  # None: the number could not be dialed at all
    status: int  # the switch's SIP status when channel is None, else 0
    up: bool  # the dialed leg answered
    connected: bool  # it answered and the holding party was still there


class Legs:
    def __init__(self, switch: Switch, tasks: CallTasks) -> None:
        self.switch = switch
        self.tasks = tasks
        self._ringback = ringback()

    def check_dialable(self, number: str) -> None:
        """SwitchError(404) when no route leads to ``number``."""
        if self.switch.router.route(normalize(number)) is None:
            raise SwitchError(f"no route to {number!r}", 404)

    def hold(self, channel: Channel) -> ChannelAudio:
        """Play ringback to ``channel`` until the returned audio is stopped."""
        audio = ChannelAudio(channel, self.switch.clock)
        audio.start()
        audio.background(Player(self._ringback, repeat=None))
        return audio

    async def ring(
        self,
        call: LiveCall,
        holder: Channel,
        number: str,
        *,
        follow: Follow,
        cause: str = "caller hung up",
        timeout: float | None = None,
    ) -> Dialed:
        """Dial ``number`` for ``holder``, who hears ringback until it answers or fails.

        The new leg joins ``call``; ``follow`` says whether the holder's hang-up (with
        ``cause``) ends it. Returns once the leg has answered or failed; bridging it is
        the caller's business.
        """
        holding = self.hold(holder)
        try:
            target = await self.switch.originate(
                number, caller_id=call.caller_id or None, timeout=timeout
            )
        except SwitchError as exc:
            holding.stop()
            return Dialed(None, exc.status, up=False, connected=False)
        call.add(target)
        if follow is not Follow.NEVER:
            holder.add_listener(self._follower(target, follow, cause))
        up = await target.wait(ChannelState.UP) is not None
        holding.stop()
        return Dialed(target, 0, up=up, connected=up and holder.state == ChannelState.UP)

    def _follower(self, target: Channel, follow: Follow, cause: str) -> Listener:
        def holder_left(event: ChannelEvent) -> None:
            if event.state != ChannelState.HUNGUP:
                return
            if target.state in _NOT_ANSWERED or (
                follow is Follow.ALWAYS and target.state != ChannelState.HUNGUP
            ):
                self.tasks.spawn(target.hangup(cause))

        return holder_left

    def bridge(self, call: LiveCall, a: Channel, b: Channel) -> Bridge:
        """Join two parties of ``call``: recorded when it is, and when one hangs up the
        other is hung up too, unless the bridge was taken apart (a transfer)."""
        bridge = self.switch.bridge(a, b, tap=call.tap)

        def on_event(event: ChannelEvent) -> None:
            if event.state != ChannelState.HUNGUP or bridge.detached:
                return
            bridge.stop()
            other = bridge.other(event.channel)
            self.tasks.spawn(other.hangup(event.cause or "normal clearing"))

        a.add_listener(on_event)
        b.add_listener(on_event)
        return bridge
