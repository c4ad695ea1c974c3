"""CRLF keepalives with real phones over TCP and TLS (RFC 5626 3.5.1): the switch's NAT
keepalive is a double CRLF on the phone's own connection, baresip answers it with a
pong, no OPTIONS is needed to know the phone is alive, the phone is still called through
that connection after many keepalive periods, and a phone whose process dies is
unreachable at once (its connection closed), not after a qualify timeout."""

from __future__ import annotations

import os
import signal
import time

import pytest

from softswitch.sip.transport import Peer
from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.process import wait_until
from tests.switch_harness import SwitchHarness

pytestmark = pytest.mark.peers

PERIOD = 1  # [sip] nat_keepalive, seconds


def _phone(harness: SwitchHarness, phone_factory, number: str, kind: str) -> Baresip:
    port = _port(harness, kind)
    extra = {}
    if kind == "tls":
        certificate, _ = harness.config.tls_files
        extra["sip_cafile"] = str(certificate)
    account = BaresipAccount(number, f"pw{number}", registrar=f"127.0.0.1:{port}", transport=kind)
    phone = phone_factory(account, extra_config=extra)
    assert phone.wait_registered().fields["transport"] == kind.upper()
    return phone


def _port(harness: SwitchHarness, kind: str) -> int:
    transport = harness.switch.ua.transport
    return harness.call(lambda: transport.tls_port if kind == "tls" else transport.port)


def _flow(harness: SwitchHarness, number: str) -> Peer:
    (binding,) = harness.call(lambda: harness.switch.registrar.contacts(number))
    return Peer(binding.transport, binding.source_host, binding.source_port)


@pytest.mark.parametrize("kind", ["tcp", "tls"])
def test_crlf_keepalive_on_the_phones_connection(switch_factory, phone_factory, kind) -> None:
    harness = switch_factory(sip={"tls_listen": "127.0.0.1:0", "nat_keepalive": PERIOD})
    switch = harness.switch
    transport, keepalive = switch.ua.transport, switch.keepalive
    sip_port = _port(harness, kind)  # what the caller dials, over its own transport
    phone = _phone(harness, phone_factory, "101", kind)
    caller = _phone(harness, phone_factory, "102", kind)
    flow = _flow(harness, "101")
    assert flow.transport == kind.upper()

    # several periods: a ping each on the phone's connection, each answered with a pong
    pongs = wait_until(
        lambda: (n := harness.call(lambda: transport.pongs(flow))) is not None and n >= 4 and n,
        6 * PERIOD + 5,
        what="baresip's pongs to the switch's CRLF pings",
    )
    crlf_sent, options_sent = harness.call(lambda: (keepalive.crlf_sent, keepalive.sent))
    assert crlf_sent >= pongs
    assert options_sent == 0  # both phones pong: no OPTIONS needed to know they are alive
    assert _flow(harness, "101") == flow  # no new connection, no re-registration
    assert harness.call(switch.health)["unreachable_contacts"] == []

    # still called through that very connection
    caller.dial(f"sip:101@127.0.0.1:{sip_port}")
    phone.wait_incoming()
    phone.wait_call_established()
    caller.wait_call_established()
    legs = harness.call(lambda: sorted(ch.session.transport for ch in switch.channels))
    assert legs == [kind.upper()] * 2
    dialog_peers = harness.call(
        lambda: [ch.session.dialog.peer for ch in switch.channels if ch.session.dialog]
    )
    assert flow in dialog_peers
    time.sleep(0.5)
    caller.hangup()
    caller.wait_call_closed()
    phone.wait_call_closed()
    assert harness.call(lambda: transport.pongs(flow)) is not None  # the connection lives on

    # the phone's process dies (no un-REGISTER): its connection closes, it is unreachable
    # at once, well before any qualify could tell
    killed = time.monotonic()
    os.kill(phone.process.pid, signal.SIGKILL)
    phone.process.wait(5)
    listed = wait_until(
        lambda: harness.call(switch.health)["unreachable_contacts"], 5, what="listed"
    )
    # a qualify would need a missed pong and then a 32 s OPTIONS timeout (default timers)
    assert time.monotonic() - killed < 3
    assert len(listed) == 1 and "101" in listed[0]
    started = time.monotonic()
    caller.dial(f"sip:101@127.0.0.1:{sip_port}")
    closed = caller.wait_call_closed(timeout=10)
    assert closed.reason and closed.reason.startswith("480")
    assert time.monotonic() - started < 3
