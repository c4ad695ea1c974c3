"""The calls in progress: each `LiveCall`, the registry of them, and what it shows.

A `LiveCall` holds the channels it has had (transfers add some), the recorder, and what
the CDR needs. `LiveCalls` is the registry the service keeps them in; it lists their
live channels (plus inbound calls from the account's trunks) as `LiveChannel` rows and
counts them as `LiveStatistics`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from media.recorder import CallRecorder

from ..channel import Channel, ChannelEvent, ChannelState, Listener
from .errors import ChannelNotFound

if TYPE_CHECKING:
    from ..bridge import Tap
    from ..cluster.ownership import Ownership
    from ..switch import Switch
    from ..webhooks.events import WebhookEvents


class CallKind(StrEnum):
    """What placed a call; the values are live_calls' call_type."""

    C2C = "c2c"
    OTP = "otp"
    CAMPAIGN = "campaign"
    INBOUND = "inbound"


def new_request_id() -> str:
    return secrets.token_hex(5)


@dataclass(eq=False)
class LiveCall:
    account_id: str
    request_id: str
    kind: CallKind
    caller_id: str
    agent_number: str
    customer_number: str
    started_at: float = field(default_factory=time.time)
    channels: list[Channel] = field(default_factory=list)
    agent: Channel | None = None
    customer: Channel | None = None
    recorder: CallRecorder | None = None
    # asked for (recording_option or modify_call), not only made for a transcript
    keep_recording: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    # a phone's transfers in this call (REFER), for the CDR: "102 transferred 101 to 103"
    transfers: list[str] = field(default_factory=list)
    # the webhooks' view of the call's legs (ringing, answered), set by LiveCalls.add
    on_leg: Listener | None = None
    # in a cluster: the store's rows naming this node as the legs' holder (LiveCalls.add)
    on_owned: Listener | None = None

    def add(self, channel: Channel) -> None:
        self.channels.append(channel)
        channel.add_listener(self._on_event)
        if self.on_leg is not None:
            channel.add_listener(self.on_leg)
        if self.on_owned is not None:
            channel.add_listener(self.on_owned)

    def transferred(self, referrer: Channel, transferee: Channel, target: Channel) -> None:
        """A party's phone handed its partner over to ``target`` (which joins the call)."""
        if target not in self.channels:
            self.add(target)
        self.transfers.append(
            f"{referrer.endpoint.number} transferred {transferee.endpoint.number}"
            f" to {target.endpoint.number}"
        )

    def _on_event(self, event: ChannelEvent) -> None:
        if event.state == ChannelState.HUNGUP and all(
            c.state == ChannelState.HUNGUP for c in self.channels
        ):
            self.ended.set()

    def live_channels(self) -> list[Channel]:
        return [c for c in self.channels if c.state != ChannelState.HUNGUP]

    @property
    def tap(self) -> Tap | None:
        """What a bridge of this call feeds: the recorder, when the call is recorded."""
        return self.recorder.feed if self.recorder is not None else None

    def last_hangup(self) -> float:
        """When the call ended: its last channel's hang-up (now for one still up)."""
        now = time.time()
        return max([c.ended_at or now for c in self.channels] or [now])

    def hangup_cause(self) -> str:
        """Why the call ended: the cause of its first channel to hang up ("" if none has)."""
        ended = [c for c in self.channels if c.ended_at is not None]
        return min(ended, key=lambda c: c.ended_at or 0.0).cause if ended else ""

    def dtmf_inputs(self) -> str:
        """The digits relayed between the call's parties, in the order of its channels."""
        return "".join(d for c in self.channels for d in c.dtmf_inputs)


@dataclass(frozen=True, slots=True)
class LiveChannel:
    """One live channel and the call it belongs to."""

    channel: str
    request_id: str  # "" for an inbound call
    kind: CallKind
    state: ChannelState
    number: str
    agent_number: str
    customer_number: str
    caller_id: str
    bridged_channel: str  # the channel it talks to, "" when none
    started_at: float  # unix time the channel was created


@dataclass(frozen=True, slots=True)
class LiveStatistics:
    """How many calls of each kind an account has in progress."""

    c2c: int = 0
    campaign: int = 0
    inbound: int = 0
    otp: int = 0


class LiveCalls(Mapping[str, LiveCall]):
    """The calls the service has in progress, by request id (a taken id gets a suffix)."""

    def __init__(self, switch: Switch, events: WebhookEvents) -> None:
        self.switch = switch
        self.events = events
        self._calls: dict[str, LiveCall] = {}
        # in a cluster: writes which node holds each leg (softswitch.cluster.ownership)
        self.ownership: Ownership | None = None

    def __getitem__(self, key: str) -> LiveCall:
        return self._calls[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._calls)

    def __len__(self) -> int:
        return len(self._calls)

    def transferred(self, referrer: Channel, transferee: Channel, target: Channel) -> None:
        """The switch's transfers tell this (Transfers.on_transferred): the call the
        referrer belongs to, if one of ours, records it."""
        for call in self._calls.values():
            if referrer in call.channels or transferee in call.channels:
                call.transferred(referrer, transferee, target)
                return

    def add(self, call: LiveCall) -> str:
        """Register ``call``; returns its key for `remove`."""
        key = call.request_id
        if key in self._calls:
            key = f"{key}:{secrets.token_hex(3)}"
        self._calls[key] = call
        # the one place every call of the service passes: its webhooks start here
        self.events.call_initiated(call)
        call.on_leg = self.events.leg_listener(call)
        if self.ownership is not None:
            call.on_owned = self.ownership.listener(call)
        for channel in call.channels:  # an inbound call's leg came first
            channel.add_listener(call.on_leg)
            if call.on_owned is not None:
                channel.add_listener(call.on_owned)
                call.on_owned(ChannelEvent(channel, channel.state))
            if channel.state not in (ChannelState.DOWN, ChannelState.HUNGUP):
                call.on_leg(ChannelEvent(channel, channel.state))
        return key

    def remove(self, key: str) -> None:
        self._calls.pop(key, None)

    def find(self, account_id: str, name: str) -> tuple[LiveCall, Channel]:
        """The call and live channel named ``name``; ChannelNotFound when there is none."""
        name = name.strip()
        for call in self._calls.values():
            if call.account_id != account_id:
                continue
            for channel in call.live_channels():
                if channel.name == name:
                    return call, channel
        raise ChannelNotFound(name)

    def listing(self, account_id: str) -> list[LiveChannel]:
        rows: list[LiveChannel] = []
        for call in self._calls.values():
            if call.account_id != account_id:
                continue
            for channel in call.live_channels():
                rows.append(
                    LiveChannel(
                        channel=channel.name,
                        request_id=call.request_id,
                        kind=call.kind,
                        state=channel.state,
                        number=channel.endpoint.number,
                        agent_number=call.agent_number,
                        customer_number=call.customer_number,
                        caller_id=call.caller_id,
                        bridged_channel=channel.bridged.name if channel.bridged else "",
                        started_at=channel.created_at,
                    )
                )
        for channel in self._inbound_channels(account_id):
            rows.append(
                LiveChannel(
                    channel=channel.name,
                    request_id="",
                    kind=CallKind.INBOUND,
                    state=channel.state,
                    number=channel.endpoint.number,
                    agent_number=channel.bridged.endpoint.number if channel.bridged else "",
                    customer_number=channel.endpoint.number,
                    caller_id=channel.endpoint.number,
                    bridged_channel=channel.bridged.name if channel.bridged else "",
                    started_at=channel.created_at,
                )
            )
        return rows

    def statistics(self, account_id: str) -> LiveStatistics:
        counts = dict.fromkeys(CallKind, 0)
        for call in self._calls.values():
            if call.account_id == account_id and not call.ended.is_set():
                counts[call.kind] += 1
        counts[CallKind.INBOUND] += len(self._inbound_channels(account_id))
        return LiveStatistics(
            c2c=counts[CallKind.C2C],
            campaign=counts[CallKind.CAMPAIGN],
            inbound=counts[CallKind.INBOUND],
            otp=counts[CallKind.OTP],
        )

    def _inbound_channels(self, account_id: str) -> list[Channel]:
        trunks = {t.name for t in self.switch.trunks if t.config.account == account_id}
        # a call to an inbound number is a LiveCall of the number's account already
        owned = {c for call in self._calls.values() for c in call.channels}
        return [
            c
            for c in self.switch.channels
            if c.direction == "inbound"
            and c.endpoint.kind == "trunk"
            and c.endpoint.name in trunks
            and c not in owned
        ]
