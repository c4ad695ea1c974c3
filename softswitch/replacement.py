"""A call that takes another's place (RFC 3891 Replaces).

The INVITE names one of our dialogs. A confirmed one (attended transfer): the leg on
that dialog leaves its bridge and is hung up (BYE), and the new caller's leg joins the
bridge in its place, so the party who was talking to the replaced leg now talks to the
new caller. An early one we initiated (call pickup): the leg still ringing a device is
cancelled and the new caller answers the call that was waiting for it (the switch
does that part, it owns the waiting INVITE). Media stays anchored in the switch: the
remaining party is not re-INVITEd.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any

from .bridge import Bridge, Tap
from .channel import Channel, ChannelEvent, ChannelState
from .sip.invite import OutgoingInvite
from .sip.replaces import Replaces

Spawn = Callable[[Coroutine[Any, Any, object]], object]
MakeBridge = Callable[..., Bridge]


class ReplaceRefused(Exception):
    """The Replaces cannot be honoured; ``status`` is the answer RFC 3891 3 gives."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def replaced_channel(
    replaces: Replaces,
    dialogs: Mapping[tuple[str, str, str], object],
    early: Mapping[tuple[str, str], object],
    channels: Iterable[Channel],
) -> Channel:
    """The live channel on the dialog ``replaces`` names: UP and bridged for a confirmed
    dialog, still ringing for an early dialog of an INVITE we sent (``early``: the user
    agent's UAC INVITEs by Call-ID and our tag).

    An early dialog of an INVITE we received is not found: 481, as RFC 3891 3 asks for
    early dialogs this UA did not initiate.
    """
    live = [ch for ch in channels if ch.state != ChannelState.HUNGUP]
    usage = dialogs.get(replaces.dialog_id)
    if usage is not None:
        channel = next((ch for ch in live if ch.session is usage), None)
        if channel is None:
            raise ReplaceRefused(481, "Call/Transaction Does Not Exist")
        if replaces.early_only:
            raise ReplaceRefused(486, "Busy Here")  # the dialog is confirmed (RFC 3891 3)
        if channel.bridge is None:  # playing a prompt, running a flow, held for a transfer
            raise ReplaceRefused(480, "Replaced Call Not Bridged")
        return channel
    invite = early.get(replaces.dialog_id[:2])
    if isinstance(invite, OutgoingInvite) and replaces.from_tag in invite.early_tags:
        ringing = (ChannelState.DOWN, ChannelState.RINGING, ChannelState.EARLY)
        for channel in live:
            if invite in channel.forks and channel.state in ringing:
                return channel
    raise ReplaceRefused(481, "Call/Transaction Does Not Exist")


def take_place(old: Channel, new: Channel, make_bridge: MakeBridge, spawn: Spawn) -> Bridge:
    """Bridge ``new`` with the party ``old`` was bridged to, then hang ``old`` up.

    The old bridge is detached, so that hanging up ``old`` no longer ends the other
    party's call; from now on either of the two new partners hanging up ends the
    other. A recorder tapping the old bridge goes on recording, ``new`` in ``old``'s
    place.
    """
    joint = old.bridge
    assert joint is not None, "replaced_channel() checked it"
    other = joint.other(old)
    tap: Tap | None = joint.tap if isinstance(joint, Bridge) else None
    first, second = (new, other) if joint.a is old else (other, new)
    joint.stop(detach=True)
    bridge = make_bridge(first, second, tap=tap)
    link(bridge, spawn)
    spawn(old.hangup("replaced"))
    return bridge


def link(bridge: Bridge, spawn: Spawn) -> None:
    """Either party of ``bridge`` hanging up hangs up the other, unless the bridge was
    taken apart first (a transfer, a replacement)."""

    def on_event(event: ChannelEvent) -> None:
        if event.state != ChannelState.HUNGUP or bridge.detached:
            return
        bridge.stop()
        spawn(bridge.other(event.channel).hangup(event.cause or "normal clearing"))

    bridge.a.add_listener(on_event)
    bridge.b.add_listener(on_event)
