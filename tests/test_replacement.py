"""A leg taking another's place in its bridge (RFC 3891 Replaces), on real channels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import numpy as np
import pytest

from media.clock import MediaClock
from media.ports import PortAllocator
from softswitch.bridge import Bridge, Tap
from softswitch.channel import Channel, ChannelState
from softswitch.replacement import ReplaceRefused, replaced_channel, take_place
from softswitch.sip.invite import OutgoingInvite
from softswitch.sip.replaces import Replaces
from tests.legs import Legs, legs, tone, until

DIALOG = ("call-1", "ours", "theirs")


@pytest.fixture
async def made() -> AsyncIterator[Legs]:
    async with legs(PortAllocator(37000, 37999)) as made:
        yield made


class Kit:
    """The switch's part: a media clock driven by hand, bridges on it, spawned work."""

    def __init__(self) -> None:
        self.clock = MediaClock()
        self.tasks: list[asyncio.Task[object]] = []

    def bridge(self, a: Channel, b: Channel, *, tap: Tap | None = None) -> Bridge:
        bridge = Bridge(a, b, self.clock)
        bridge.tap = tap
        bridge.start()
        return bridge

    def spawn(self, coro: Coroutine[Any, Any, object]) -> object:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task

    async def settle(self) -> None:
        await asyncio.gather(*self.tasks)


def replaces(*flags: str) -> Replaces:
    return Replaces(*DIALOG, early_only="early-only" in flags)


async def test_the_channel_on_the_named_dialog_is_found_when_bridged(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    dialogs = {DIALOG: b.channel.session}
    channels = [a.channel, b.channel]
    with pytest.raises(ReplaceRefused) as unbridged:
        replaced_channel(replaces(), dialogs, {}, channels)
    assert unbridged.value.status == 480
    Kit().bridge(a.channel, b.channel)
    assert replaced_channel(replaces(), dialogs, {}, channels) is b.channel


async def test_refusals(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    kit = Kit()
    kit.bridge(a.channel, b.channel)
    channels = [a.channel, b.channel]

    def status(dialogs: dict, which: Replaces) -> int:
        with pytest.raises(ReplaceRefused) as refused:
            replaced_channel(which, dialogs, {}, channels)
        return refused.value.status

    assert status({}, replaces()) == 481  # no such dialog
    assert status({DIALOG: object()}, replaces()) == 481  # a dialog, but no call on it
    assert status({DIALOG: b.channel.session}, replaces("early-only")) == 486  # confirmed
    await b.channel.hangup("gone")
    assert status({DIALOG: b.channel.session}, replaces()) == 481


async def test_early_dialog_of_an_invite_we_sent_is_found_while_it_rings(made: Legs) -> None:
    ringing = await made.channel("102")  # an outbound leg, not answered
    invite = ringing.session
    assert isinstance(invite, OutgoingInvite)
    early = {DIALOG[:2]: invite}

    def status(which: Replaces, channels: list[Channel]) -> int:
        with pytest.raises(ReplaceRefused) as refused:
            replaced_channel(which, {}, early, channels)
        return refused.value.status

    assert status(replaces(), [ringing]) == 481  # no provisional made that early dialog
    invite.early_tags.add("theirs")  # a 180 from the device, To tag "theirs"
    assert replaced_channel(replaces(), {}, early, [ringing]) is ringing
    assert replaced_channel(replaces("early-only"), {}, early, [ringing]) is ringing
    assert status(Replaces("call-1", "ours", "other"), [ringing]) == 481  # another device
    answered = await made.leg("103")  # a leg that is up is no longer ringing
    answered.channel.forks.append(invite)
    assert status(replaces(), [answered.channel]) == 481


async def test_new_leg_takes_the_place_and_the_old_one_is_hung_up(made: Legs) -> None:
    a, b, c = await made.leg("101"), await made.leg("102"), await made.leg("103")
    kit = Kit()
    heard: list[tuple[np.ndarray | None, np.ndarray | None]] = []
    old_bridge = kit.bridge(a.channel, b.channel, tap=lambda x, y: heard.append((x, y)))

    bridge = take_place(b.channel, c.channel, kit.bridge, kit.spawn)
    await kit.settle()
    assert old_bridge.detached and not old_bridge.active
    assert b.channel.state == ChannelState.HUNGUP and b.channel.cause == "replaced"
    assert a.channel.state == ChannelState.UP  # the replaced leg took nobody with it
    assert a.channel.bridged is c.channel and c.channel.bridged is a.channel
    assert len(kit.clock) == 1  # only the new bridge ticks

    # media: what 103 says 101 hears, and the recorder goes on, 103 in 102's place
    for n in range(3):
        a.phone.write_frame(tone(n))
        c.phone.write_frame(tone(n + 10))
    await until(lambda: a.channel.rtp.packets_received == 3 and c.channel.rtp.packets_received == 3)
    for n in range(3):
        bridge.tick(n)
    await until(lambda: a.phone.packets_received == 3)
    for n in range(3):
        at_a = a.phone.read_frame()
        assert at_a is not None and np.abs(at_a - tone(n + 10)).max() < 500
        a_said, c_said = heard[-3 + n]
        assert a_said is not None and np.abs(a_said - tone(n)).max() < 500
        assert c_said is not None and np.abs(c_said - tone(n + 10)).max() < 500

    # either new partner hanging up ends the other's call
    await c.channel.hangup("bye")
    await kit.settle()
    assert a.channel.state == ChannelState.HUNGUP and not bridge.active


async def test_replaced_leg_on_the_b_side_keeps_the_tap_order(made: Legs) -> None:
    a, b, c = await made.leg("101"), await made.leg("102"), await made.leg("103")
    kit = Kit()
    kit.bridge(a.channel, b.channel)
    bridge = take_place(a.channel, c.channel, kit.bridge, kit.spawn)
    await kit.settle()
    assert (bridge.a, bridge.b) == (c.channel, b.channel)
    await b.channel.hangup("bye")  # the other direction ends it too
    await kit.settle()
    assert c.channel.state == ChannelState.HUNGUP
