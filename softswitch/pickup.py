"""Call pickup from a phone: ``*8`` answers a call ringing at an extension of the
caller's pickup group, ``**<ext>`` one ringing at that extension.

Which leg is picked up is decided here; the pickup itself is the switch's, the same
one an INVITE with Replaces naming a ringing leg's early dialog performs
(``Switch._pickups``: the waiting caller is answered and bridged with the picker, the
ringing devices are cancelled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .channel import Channel, ChannelState, Direction, EndpointKind
from .config import ExtensionConfig
from .feature_codes import Feature, FeatureRequest

RINGING = (ChannelState.DOWN, ChannelState.RINGING, ChannelState.EARLY)


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
