"""Qualify: the keepalive pings find a registered device that is gone, the switch stops
ringing it and /health lists it; the extension's other device still gets the call."""

from __future__ import annotations

import os
import signal
import time

import pytest

from softswitch.channel import Direction
from softswitch.sip.transaction import Timers
from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

# Short SIP timers: a silent device's OPTIONS times out after 64 * T1 = 1.6 s.
FAST = Timers(t1=0.025, t2=0.2, t4=0.2)


def _pull_the_plug(phone: Baresip) -> None:
    """SIGKILL: no un-REGISTER (SIGTERM would send one), the binding stays."""
    os.kill(phone.process.pid, signal.SIGKILL)
    phone.process.wait(5)


@pytest.fixture
def fast_switch(switch_factory):
    return switch_factory(sip={"nat_keepalive": 1}, timers=FAST)


def test_a_gone_device_is_not_rung(fast_switch, phone_factory) -> None:
    port = fast_switch.config.sip_host_port[1]
    registrar = f"127.0.0.1:{port}"
    gone: Baresip = phone_factory(BaresipAccount("101", "pw101", registrar=registrar))
    desk: Baresip = phone_factory(BaresipAccount("101", "pw101", registrar=registrar))
    caller = phone_factory(BaresipAccount("102", "pw102", registrar=registrar))
    for phone in (gone, desk, caller):
        phone.wait_registered()
    _pull_the_plug(gone)

    def unreachable() -> list[str]:
        return fast_switch.call(lambda: fast_switch.switch.health()["unreachable_contacts"])

    listed = wait_until(unreachable, 10, what="the gone device listed as unreachable")
    assert len(listed) == 1 and f":{gone.port}" in listed[0]

    caller.dial(f"sip:101@127.0.0.1:{port}")
    desk.wait_incoming()
    desk.wait_call_established()
    caller.wait_call_established()
    forks = fast_switch.call(
        lambda: [
            len(ch.forks)
            for ch in fast_switch.switch.channels
            if ch.direction == Direction.OUTBOUND
        ]
    )
    assert forks == [1]  # only the desk phone was rung
    time.sleep(0.5)
    caller.hangup()
    caller.wait_call_closed()
    desk.wait_call_closed()


def test_an_extension_with_only_gone_devices_is_480_at_once(fast_switch, phone_factory) -> None:
    port = fast_switch.config.sip_host_port[1]
    registrar = f"127.0.0.1:{port}"
    gone = phone_factory(BaresipAccount("101", "pw101", registrar=registrar))
    caller = phone_factory(BaresipAccount("102", "pw102", registrar=registrar))
    gone.wait_registered()
    caller.wait_registered()
    _pull_the_plug(gone)
    wait_until(
        lambda: fast_switch.call(lambda: fast_switch.switch.health()["unreachable_contacts"]),
        10,
        what="the gone device listed as unreachable",
    )
    started = time.monotonic()
    caller.dial(f"sip:101@127.0.0.1:{port}")
    closed = caller.wait_call_closed(timeout=10)
    assert closed.reason.startswith("480")
    assert time.monotonic() - started < 3  # not after a ring timeout
