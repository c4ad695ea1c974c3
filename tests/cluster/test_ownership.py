"""The store's rows saying which node holds each leg of the call service's calls."""

from __future__ import annotations

from media.ports import PortAllocator
from softswitch.calls.live import CallKind, LiveCall
from softswitch.channel import ChannelEvent, ChannelState
from softswitch.cluster.ownership import Ownership
from softswitch.store import Store
from softswitch.store.call_owners import CallOwners, Owner
from tests.legs import legs

ME = Owner("node-a", "http://127.0.0.1:8080")
OTHER = Owner("node-b", "http://127.0.0.1:8081")


async def test_a_leg_is_owned_from_its_first_state_to_its_hangup(tmp_path):
    store = Store(tmp_path / "own.db")
    owners = CallOwners(store.db)
    ownership = Ownership(owners, ME)
    call = LiveCall("acc", "r1", CallKind.C2C, "", "101", "102")
    async with legs(PortAllocator(39000, 39099)) as made:
        channel = await made.channel("101")
        listener = ownership.listener(call)
        channel.add_listener(listener)
        listener(ChannelEvent(channel, ChannelState.RINGING))
        assert owners.owner("acc", channel.name) == ME
        assert owners.owner("other-account", channel.name) is None
        await channel.hangup()
        assert owners.owner("acc", channel.name) is None
    store.close()


def test_a_row_is_released_only_by_its_node_and_a_restart_forgets_its_own(tmp_path):
    store = Store(tmp_path / "own.db")
    owners = CallOwners(store.db)
    owners.claim("acc", "SIP/101-1", OTHER, 1.0)
    owners.release("acc", "SIP/101-1", ME.node_id)  # not ours to drop
    assert owners.owner("acc", "SIP/101-1") == OTHER
    owners.claim("acc", "SIP/101-2", ME, 1.0)
    owners.claim("acc", "SIP/101-3", ME, 1.0)
    Ownership(owners, ME).forget_previous_life()
    assert owners.owner("acc", "SIP/101-2") is None and owners.owner("acc", "SIP/101-3") is None
    assert owners.owner("acc", "SIP/101-1") == OTHER
    store.close()
