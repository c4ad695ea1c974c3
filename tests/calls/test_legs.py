"""Ring-and-hold and the linked, recorded bridge, on real channels of a real switch."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from media.recorder import CallRecorder
from softswitch.calls.legs import Dialed, Follow, Legs
from softswitch.calls.live import CallKind, LiveCall
from softswitch.calls.tasks import CallTasks
from softswitch.channel import Channel, ChannelState
from softswitch.switch import Switch, SwitchError
from tests.calls.conftest import ACCOUNT, FAR


@pytest.fixture
async def legs(switch: Switch) -> Legs:
    return Legs(switch, CallTasks())


def a_call() -> LiveCall:
    return LiveCall(ACCOUNT, "0123456789", CallKind.C2C, "555", "101", FAR)


async def ringing(switch: Switch, call: LiveCall) -> Channel:
    """A leg that stays down: the carrier never answers."""
    channel = await switch.originate(FAR, caller_id="555")
    call.add(channel)
    return channel


async def until_dialed(call: LiveCall, count: int) -> Channel:
    for _ in range(200):
        if len(call.channels) >= count:
            return call.channels[count - 1]
        await asyncio.sleep(0.01)
    raise AssertionError("the new leg was never dialed")


async def test_a_number_that_cannot_be_dialed_stops_the_ringback(switch, legs) -> None:
    call = a_call()
    holder = await ringing(switch, call)
    before = len(switch.clock)
    dialed = await legs.ring(call, holder, "101", follow=Follow.ALWAYS)  # not registered
    assert dialed == Dialed(None, 480, up=False, connected=False)
    assert len(switch.clock) == before  # the holder's ringback is off again
    assert call.channels == [holder]


async def test_the_holder_hears_ringback_while_the_leg_rings(switch, legs) -> None:
    call = a_call()
    holder = await ringing(switch, call)
    before = len(switch.clock)
    task = asyncio.ensure_future(legs.ring(call, holder, FAR, follow=Follow.ALWAYS))
    target = await until_dialed(call, 2)
    assert len(switch.clock) == before + 1  # the ringback player ticks
    await target.hangup("busy")
    dialed = await asyncio.wait_for(task, 5)
    assert dialed == Dialed(target, 0, up=False, connected=False)
    assert len(switch.clock) == before
    assert holder.state == ChannelState.DOWN  # what happens to the holder is the caller's call


@pytest.mark.parametrize("follow", [Follow.WHILE_RINGING, Follow.ALWAYS])
async def test_a_ringing_leg_follows_its_holder_out(switch, legs, follow) -> None:
    call = a_call()
    holder = await ringing(switch, call)
    task = asyncio.ensure_future(legs.ring(call, holder, FAR, follow=follow, cause="agent hung up"))
    target = await until_dialed(call, 2)
    await holder.hangup("gone")
    assert await asyncio.wait_for(target.hungup, 5) == "agent hung up"
    dialed = await asyncio.wait_for(task, 5)
    assert not dialed.up and not dialed.connected
    assert call.ended.is_set()


async def test_a_leg_dialed_with_follow_never_outlives_its_holder(switch, legs) -> None:
    call = a_call()
    holder = await ringing(switch, call)
    task = asyncio.ensure_future(legs.ring(call, holder, FAR, follow=Follow.NEVER))
    target = await until_dialed(call, 2)
    await holder.hangup("gone")
    await asyncio.sleep(0.1)
    assert target.state == ChannelState.DOWN
    await target.hangup("done")
    assert (await asyncio.wait_for(task, 5)).channel is target


async def test_a_bridge_is_recorded_and_links_hangups(switch, legs, tmp_path: Path) -> None:
    call = a_call()
    a, b = await ringing(switch, call), await ringing(switch, call)
    recorder = CallRecorder(tmp_path, call.request_id, "both")
    call.recorder = recorder
    bridge = legs.bridge(call, a, b)
    assert bridge.active and bridge.tap == recorder.feed
    assert (a.bridge, b.bridge, a.bridged, b.bridged) == (bridge, bridge, b, a)
    await a.hangup("agent left")
    assert await asyncio.wait_for(b.hungup, 5) == "agent left"
    assert not bridge.active
    recorder.close()


async def test_a_bridge_taken_apart_no_longer_links_hangups(switch, legs) -> None:
    call = a_call()
    a, b = await ringing(switch, call), await ringing(switch, call)
    bridge = legs.bridge(call, a, b)
    assert bridge.tap is None  # not recorded
    bridge.stop(detach=True)  # a transfer rearranges the parties
    await a.hangup("transferred")
    await asyncio.sleep(0.1)
    assert b.state == ChannelState.DOWN
    await b.hangup()


async def test_check_dialable(legs) -> None:
    legs.check_dialable(FAR)
    legs.check_dialable("101")  # an extension, registered or not
    with pytest.raises(SwitchError) as refused:
        legs.check_dialable("")
    assert refused.value.status == 404
