"""A call that takes another's place (RFC 3891 Replaces, what attended transfer sends).

The INVITE names one of our dialogs; the leg on that dialog leaves its bridge and is
hung up (BYE), and the new caller's leg joins the bridge in its place, so the party
who was talking to the replaced leg now talks to the new caller. Media stays
anchored in the switch: the remaining party is not re-INVITEd.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any

from .bridge import Bridge, Tap
from .channel import Channel, ChannelEvent, ChannelState
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
    replaces: Replaces, dialogs: Mapping[tuple[str, str, str], object], channels: Iterable[Channel]
) -> Channel:
    """The live, bridged channel on the dialog ``replaces`` names.

    The user agent keeps confirmed dialogs only; an early one (of a call still
    ringing either way) is not found: 481, as RFC 3891 asks for early dialogs this
    UA did not initiate (replacing one it did, a call pickup, is not offered).
    """
    usage = dialogs.get(replaces.dialog_id)
    channel = None
    if usage is not None:
        channel = next((ch for ch in channels if ch.session is usage), None)
    if channel is None or channel.state == ChannelState.HUNGUP:
        raise ReplaceRefused(481, "Call/Transaction Does Not Exist")
    if replaces.early_only:
        raise ReplaceRefused(486, "Busy Here")  # the dialog is confirmed
    if channel.bridge is None:  # playing a prompt, running a flow, on hold for a transfer
        raise ReplaceRefused(480, "Replaced Call Not Bridged")
    return channel


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

    def on_event(event: ChannelEvent) -> None:
        if event.state != ChannelState.HUNGUP or bridge.detached:
            return
        bridge.stop()
        spawn(bridge.other(event.channel).hangup(event.cause or "normal clearing"))

    new.add_listener(on_event)
    other.add_listener(on_event)
    spawn(old.hangup("replaced"))
    return bridge
