"""Call pickup from a phone: ``*8`` answers a call ringing at an extension of the
caller's pickup group, ``**<ext>`` one ringing at that extension.

Which leg is picked up is decided here; the pickup itself is the switch's, the same
one an INVITE with Replaces naming a ringing leg's early dialog performs
(``Switch._pickups``: the waiting caller is answered and bridged with the picker, the
ringing devices are cancelled).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping

from .channel import Channel, ChannelState, Direction, EndpointKind
from .config import ExtensionConfig
from .feature_codes import Feature, FeatureRequest
from .sip.errors import SipError
from .sip.invite import IncomingInvite

log = logging.getLogger("softswitch.pickup")

PICKUP_FEATURES = frozenset({Feature.PICKUP_GROUP, Feature.PICKUP_DIRECTED})
RINGING = (ChannelState.DOWN, ChannelState.RINGING, ChannelState.EARLY)

# the picker's leg with the answer to its offer, not answered yet (the pickup answers
# it); None once its INVITE was refused
MakeLeg = Callable[[], Awaitable[tuple[Channel, bytes] | None]]


def pickup_targets(
    request: FeatureRequest, picker: str, extensions: Iterable[ExtensionConfig]
) -> set[str]:
    """The extensions whose ringing calls ``picker`` may take with ``request``."""
    if request.feature == Feature.PICKUP_DIRECTED:
        return {request.number} - {picker}
    groups = {e.number: e.pickup_group for e in extensions}
    group = groups.get(picker, "")
    if not group:
        return set()
    return {number for number, g in groups.items() if g == group and number != picker}


def ringing_leg(
    channels: Iterable[Channel], pickups: Mapping[Channel, object], targets: set[str]
) -> Channel | None:
    """The longest-ringing leg to one of ``targets`` that a caller waits on."""
    for channel in channels:  # the registry keeps the order channels were made in
        if (
            channel in pickups
            and channel.direction == Direction.OUTBOUND
            and channel.endpoint.kind == EndpointKind.EXTENSION
            and channel.endpoint.name in targets
            and channel.state in RINGING
        ):
            return channel
    return None


async def pickup_call(
    invite: IncomingInvite,
    targets: set[str],
    channels: Iterable[Channel],
    pickups: Mapping[Channel, Callable[[Channel], None]],
    leg: MakeLeg,
) -> None:
    """Answer ``invite`` (``*8`` / ``**<ext>``) with the call ringing longest at one of
    ``targets``: ``pickups[leg]`` answers its waiting caller and bridges it with ours;
    404 when nothing rings there."""
    if ringing_leg(channels, pickups, targets) is None:
        log.info("call %s: pickup of %s: nothing ringing", invite.request.call_id, targets)
        invite.reject(404, "Not Found")
        return
    made = await leg()
    if made is None:
        return
    new, answer = made
    # again: the call may have been answered while the RTP port opened
    ringing = ringing_leg(channels, pickups, targets)
    pick_up = pickups.get(ringing) if ringing is not None else None
    if pick_up is None:
        invite.reject(404, "Not Found")
        new.failed("nothing to pick up", 404)
        return
    try:
        pick_up(new)  # the waiting caller is answered and bridged with `new`
        invite.answer(answer)
    except SipError:  # the waiting caller, or ours, is gone
        invite.reject(481, "Call/Transaction Does Not Exist")
        new.failed("caller gone", 487)
        return
    new.up()
    log.info("call %s: %s picks up %s", invite.request.call_id, new.name, ringing)
