"""A phone behind a NAT router (a network namespace behind a masquerading one) and a
phone on the switch's own host call each other through a switch on 0.0.0.0.

The phone advertises its private 198.19 address in Contact and SDP; the switch must
reach it through the mapping its packets came from: the REGISTER binds the router's
public address and port, and media goes where the phone's RTP really comes from."""

from __future__ import annotations

import time

import pytest

from tests.e2e.phones import far_and_local_phones
from tests.e2e.talk import assert_heard, talk_and_hang_up
from tests.peers.baresip import BaresipAccount
from tests.peers.netns import NatHost, NetLab

pytestmark = pytest.mark.peers

NAT_TONE = 800.0
LOCAL_TONE = 1300.0


def _phones(switch_factory, phone_factory, netlab: NetLab):
    nat = netlab.nat_host(udp_timeout=20)
    harness, nat_phone, local_phone = far_and_local_phones(
        switch_factory, phone_factory, nat.gateway, NAT_TONE, LOCAL_TONE, netns_host=nat
    )
    return harness, nat, nat_phone, local_phone


def _assert_bound_to_the_flow(harness, nat: NatHost) -> None:
    """The binding holds where the REGISTER came from (the router), not the Contact."""
    bindings = harness.call(lambda: harness.switch.registrar.contacts("101"))
    assert len(bindings) == 1
    assert nat.address in bindings[0].contact  # what the phone says it is
    assert bindings[0].source_host == nat.public_address  # where it really is


def test_nat_phone_calls_local_phone(switch_factory, phone_factory, netlab: NetLab) -> None:
    harness, nat, nat_phone, local_phone = _phones(switch_factory, phone_factory, netlab)
    _assert_bound_to_the_flow(harness, nat)
    port = harness.config.sip_host_port[1]
    nat_phone.dial(f"sip:102@{nat.gateway}:{port}")
    local_phone.wait_incoming()
    talk_and_hang_up(local_phone, nat_phone)
    assert_heard(local_phone, NAT_TONE)
    assert_heard(nat_phone, LOCAL_TONE)


def test_local_phone_calls_nat_phone(switch_factory, phone_factory, netlab: NetLab) -> None:
    harness, nat, nat_phone, local_phone = _phones(switch_factory, phone_factory, netlab)
    port = harness.config.sip_host_port[1]
    local_phone.dial(f"sip:101@127.0.0.1:{port}")
    nat_phone.wait_incoming()  # the INVITE went to the router's mapping
    # the NATed phone hangs up: its BYE comes through the router like everything else
    talk_and_hang_up(nat_phone, local_phone)
    assert_heard(local_phone, NAT_TONE)
    assert_heard(nat_phone, LOCAL_TONE)


@pytest.mark.slow  # idles past a NAT router's timeout
def test_idle_nat_phone_still_gets_its_calls(switch_factory, phone_factory, netlab) -> None:
    """Idle for longer than the router keeps a UDP mapping, the phone still rings: the
    switch's keepalive pings travelled the mapping and kept it open."""
    nat = netlab.nat_host(udp_timeout=3)
    harness = switch_factory(listen_host="0.0.0.0", sip={"nat_keepalive": 1})
    port = harness.config.sip_host_port[1]
    nat_phone = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"{nat.gateway}:{port}", regint=600),
        tone_hz=NAT_TONE,
        netns_host=nat,
    )
    local_phone = phone_factory(
        BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}"), tone_hz=LOCAL_TONE
    )
    nat_phone.wait_registered()
    local_phone.wait_registered()
    time.sleep(3 * nat.udp_timeout)  # silent but for the keepalives
    assert harness.call(lambda: harness.switch.keepalive.sent) >= 2
    local_phone.dial(f"sip:101@127.0.0.1:{port}")
    nat_phone.wait_incoming()
    talk_and_hang_up(nat_phone, local_phone)
    assert_heard(local_phone, NAT_TONE)
    assert_heard(nat_phone, LOCAL_TONE)


@pytest.mark.slow  # idles past a NAT router's timeout
def test_without_keepalives_the_idle_nat_phone_is_lost(switch_factory, phone_factory, netlab):
    """The control: the same phone, no keepalives, and the router drops the INVITE."""
    nat = netlab.nat_host(udp_timeout=3)
    harness = switch_factory(listen_host="0.0.0.0", sip={"nat_keepalive": 0, "ring_timeout": 3})
    port = harness.config.sip_host_port[1]
    nat_phone = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"{nat.gateway}:{port}", regint=600),
        netns_host=nat,
    )
    local_phone = phone_factory(BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}"))
    nat_phone.wait_registered()
    local_phone.wait_registered()
    time.sleep(3 * nat.udp_timeout)
    local_phone.dial(f"sip:101@127.0.0.1:{port}")
    closed = local_phone.wait_call_closed(timeout=15)
    assert closed.reason and closed.reason[:3] in ("408", "480")
    assert not nat_phone.events_of("answering")
