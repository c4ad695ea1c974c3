"""Node-to-node live-call commands: the signature, the outcome's round trip, and where
the forwarder sends a command (here, to the owner, or nowhere when the owner is gone)."""

from __future__ import annotations

import socket

import pytest

from softswitch.calls import CallAction
from softswitch.calls.errors import (
    AlreadyRecording,
    BadTransferTarget,
    CallControlError,
    ChannelNotFound,
    NotBridged,
)
from softswitch.cluster.forwarding import (
    ClusterAuthError,
    Forwarder,
    check,
    outcome,
    raise_outcome,
    sign,
)
from softswitch.store import Store
from softswitch.store.call_owners import CallOwners, Owner

SECRET = "s" * 24
BODY = b'{"channel": "SIP/101-00000001"}'


def test_a_signed_command_passes_once_and_only_as_signed():
    header = sign(SECRET, BODY, now=1000)
    check(SECRET, header, BODY, now=1010)
    for secret, body, now in (
        ("t" * 24, BODY, 1010),  # another cluster's secret
        (SECRET, BODY + b" ", 1010),  # a changed body
        (SECRET, BODY, 1100),  # replayed later than the tolerance
    ):
        with pytest.raises(ClusterAuthError):
            check(secret, header, body, now=now)
    for header in (None, "", "t=1000", "v1=abc"):
        with pytest.raises(ClusterAuthError):
            check(SECRET, header, BODY, now=1000)


@pytest.mark.parametrize(
    "error",
    [
        ChannelNotFound("SIP/101-00000001"),
        NotBridged("SIP/101-00000001"),
        AlreadyRecording(),
        BadTransferTarget("999", "no route to '999'"),
        BadTransferTarget(None, "transfer_to is required for a transfer"),
        CallControlError("something else"),
    ],
)
def test_the_owners_error_is_raised_again_at_the_forwarding_node(error):
    with pytest.raises(type(error)) as raised:
        raise_outcome(outcome(error), "SIP/101-00000001")
    assert str(raised.value) == str(error)
    assert vars(raised.value) == vars(error)


def test_success_raises_nothing():
    raise_outcome(outcome(None), "x")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def owners(tmp_path):
    store = Store(tmp_path / "owners.db")
    yield CallOwners(store.db)
    store.close()


async def test_a_call_held_here_is_not_forwarded(owners):
    done = []

    async def local(account, channel, action, number):
        done.append((account, channel, action))

    forwarder = Forwarder(local, owners, Owner("a", "http://127.0.0.1:1"), SECRET)
    await forwarder.modify("acc", "SIP/101-1", CallAction.HANGUP)
    await forwarder.close()
    assert done == [("acc", "SIP/101-1", CallAction.HANGUP)] and forwarder.forwarded == 0


async def test_a_channel_no_node_holds_is_not_found(owners):
    async def local(account, channel, action, number):
        raise ChannelNotFound(channel)

    me = Owner("a", "http://127.0.0.1:1")
    owners.claim("acc", "SIP/101-2", me, 0.0)  # a row of this very node: not elsewhere
    forwarder = Forwarder(local, owners, me, SECRET)
    for channel in ("SIP/101-1", "SIP/101-2"):
        with pytest.raises(ChannelNotFound):
            await forwarder.modify("acc", channel, CallAction.HANGUP)
    await forwarder.close()
    assert forwarder.forwarded == 0


async def test_the_rows_of_a_node_that_is_gone_are_forgotten(owners):
    async def local(account, channel, action, number):
        raise ChannelNotFound(channel)

    gone = Owner("b", f"http://127.0.0.1:{closed_port()}")
    owners.claim("acc", "SIP/101-7", gone, 0.0)
    owners.claim("acc", "SIP/102-8", gone, 0.0)
    forwarder = Forwarder(local, owners, Owner("a", "http://127.0.0.1:1"), SECRET)
    with pytest.raises(ChannelNotFound):
        await forwarder.modify("acc", " SIP/101-7 ", CallAction.HANGUP)
    await forwarder.close()
    assert forwarder.forwarded == 1
    assert owners.owner("acc", "SIP/101-7") is None and owners.owner("acc", "SIP/102-8") is None
