"""An extension's calls as its watchers see them: one `Line` per call leg of the
extension, read off the switch's channels, and the activity they add up to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..channel import Channel, ChannelState, Direction, EndpointKind
from ..sip.invite import IncomingInvite, OutgoingInvite


class LineState(StrEnum):
    """A dialog's state (RFC 4235 3.7.1), from the extension's side."""

    TRYING = "trying"  # INVITE sent or received, nothing back yet
    EARLY = "early"  # ringing (a 1xx with a To tag)
    CONFIRMED = "confirmed"  # answered
    TERMINATED = "terminated"


class Role(StrEnum):
    """RFC 4235's direction: who sent the INVITE, seen from the extension."""

    INITIATOR = "initiator"  # the extension called
    RECIPIENT = "recipient"  # the extension was called


class Activity(StrEnum):
    """What a presence watcher is told (RFC 4480 activity, PIDF note)."""

    AVAILABLE = "available"
    RINGING = "ringing"  # a call to the extension is alerting
    ON_THE_PHONE = "on-the-phone"  # in a call, or calling out


_STATES = {
    ChannelState.DOWN: LineState.TRYING,
    ChannelState.RINGING: LineState.EARLY,
    ChannelState.EARLY: LineState.EARLY,
    ChannelState.UP: LineState.CONFIRMED,
    ChannelState.HUNGUP: LineState.TERMINATED,
}


@dataclass(slots=True, frozen=True)
class Line:
    """One call leg of the watched extension: the dialog between its phone and us."""

    id: str  # the channel's name: unique among the switch's live legs
    state: LineState
    role: Role
    call_id: str
    local_tag: str  # the phone's tag ("" while not known)
    remote_tag: str  # the switch's tag
    local: str  # the extension's URI in the INVITE
    remote: str  # the other party's URI in the INVITE (what was dialed, or the caller)


def line_of(channel: Channel, state: ChannelState) -> tuple[str, Line] | None:
    """(extension, line) for a leg between an extension's phone and the switch in
    ``state``; None for a leg of a trunk or a conference."""
    if channel.endpoint.kind != EndpointKind.EXTENSION:
        return None
    session = channel.session
    if channel.direction == Direction.INBOUND and isinstance(session, IncomingInvite):
        request = session.request
        line = Line(
            channel.name,
            _STATES[state],
            Role.INITIATOR,
            request.call_id,
            request.from_addr.tag or "",
            session.local_tag,
            str(request.from_addr.uri),
            str(request.to_addr.uri),
        )
    elif channel.direction == Direction.OUTBOUND and isinstance(session, OutgoingInvite):
        request = session.request
        line = Line(
            channel.name,
            _STATES[state],
            Role.RECIPIENT,
            request.call_id,
            _phone_tag(channel, session),
            request.from_addr.tag or "",
            str(request.to_addr.uri),
            str(request.from_addr.uri),
        )
    else:
        return None
    return channel.endpoint.name, line


def _phone_tag(channel: Channel, session: OutgoingInvite) -> str:
    """The rung phone's tag: its dialog's once answered, while ringing the tag of a
    device's 1xx (which a Replaces naming the early dialog carries, softswitch.replacement:
    a BLF key picks the call up with the identifiers the NOTIFY gave it)."""
    if session.dialog is not None:
        return session.dialog.remote_tag
    for fork in channel.forks:
        if isinstance(fork, OutgoingInvite) and fork.early_tags:
            return min(fork.early_tags)  # one device's; min: the same one each time
    return ""


def activity(lines: tuple[Line, ...]) -> Activity:
    """An answered call wins over a ringing one; calling out counts as on the phone."""
    live = [line for line in lines if line.state != LineState.TERMINATED]
    if any(line.state == LineState.CONFIRMED for line in live):
        return Activity.ON_THE_PHONE
    if any(line.role == Role.RECIPIENT for line in live):
        return Activity.RINGING
    if live:
        return Activity.ON_THE_PHONE
    return Activity.AVAILABLE
