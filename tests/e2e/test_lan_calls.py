"""A phone on another host of the LAN (a network namespace) and a phone on the switch's
own host call each other through a switch listening on 0.0.0.0: each hears the other,
and the LAN phone is only ever told the switch's LAN address, never 127.0.0.1."""

from __future__ import annotations

import re

import pytest

from tests.e2e.phones import far_and_local_phones
from tests.e2e.talk import assert_heard, talk_and_hang_up
from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.netns import LanHost, NetLab

pytestmark = pytest.mark.peers

LAN_TONE = 700.0
LOCAL_TONE = 1200.0


def _phones(switch_factory, phone_factory, netlab: NetLab):
    lan = netlab.lan_host()
    harness, lan_phone, local_phone = far_and_local_phones(
        switch_factory,
        phone_factory,
        lan.gateway,
        LAN_TONE,
        LOCAL_TONE,
        netns_host=lan,
        sip_trace=True,
    )
    return harness, lan, lan_phone, local_phone


def _assert_lan_phone_saw_only_the_lan_address(phone: Baresip, lan: LanHost) -> None:
    """What the switch sent the LAN phone (Via, Contact, SDP o= and c=) names the
    switch's address on the LAN; 127.0.0.1 appears nowhere in its SIP trace."""
    trace = phone.log_text()
    assert "127.0.0.1" not in trace
    gateway = re.escape(lan.gateway)
    assert re.search(rf"^Contact: <sip:[^>]*@?{gateway}:\d+", trace, re.M | re.I)
    assert re.search(rf"^c=IN IP4 {gateway}\s*$", trace, re.M)
    assert re.search(rf"^o=\S+ \d+ \d+ IN IP4 {gateway}\s*$", trace, re.M)


def test_lan_phone_calls_local_phone(switch_factory, phone_factory, netlab: NetLab) -> None:
    harness, lan, lan_phone, local_phone = _phones(switch_factory, phone_factory, netlab)
    port = harness.config.sip_host_port[1]
    lan_phone.dial(f"sip:102@{lan.gateway}:{port}")
    local_phone.wait_incoming()
    talk_and_hang_up(lan_phone, local_phone)
    assert_heard(local_phone, LAN_TONE)
    assert_heard(lan_phone, LOCAL_TONE)
    _assert_lan_phone_saw_only_the_lan_address(lan_phone, lan)


def test_local_phone_calls_lan_phone(switch_factory, phone_factory, netlab: NetLab) -> None:
    harness, lan, lan_phone, local_phone = _phones(switch_factory, phone_factory, netlab)
    port = harness.config.sip_host_port[1]
    local_phone.dial(f"sip:101@127.0.0.1:{port}")
    lan_phone.wait_incoming()
    # the switch's SDP to the loopback phone still names loopback
    sdp_to_local = harness.call(lambda: [ch.advertised for ch in harness.switch.channels])
    assert sorted(sdp_to_local) == sorted(["127.0.0.1", lan.gateway])
    # the LAN phone hangs up: its BYE reaches the Contact the switch gave it
    talk_and_hang_up(lan_phone, local_phone)
    assert_heard(local_phone, LAN_TONE)
    assert_heard(lan_phone, LOCAL_TONE)
    _assert_lan_phone_saw_only_the_lan_address(lan_phone, lan)


def test_phone_that_moves_to_a_new_address_keeps_working(
    switch_factory, phone_factory, netlab: NetLab
) -> None:
    # A laptop softphone taken from one network to another: it re-registers from its new
    # address (the old process gone without a word) and its calls follow it there.
    harness, first_lan, moving, local_phone = _phones(switch_factory, phone_factory, netlab)
    port = harness.config.sip_host_port[1]
    moving.process.stop()  # no /quit: the old binding is left behind, as after a crash
    second_lan = netlab.lan_host()
    moved = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"{second_lan.gateway}:{port}"),
        tone_hz=LAN_TONE,
        netns_host=second_lan,
    )
    moved.wait_registered()
    sources = harness.call(
        lambda: {b.source_host for b in harness.switch.registrar.contacts("101")}
    )
    assert second_lan.address in sources
    local_phone.dial(f"sip:101@127.0.0.1:{port}")
    moved.wait_incoming()
    talk_and_hang_up(local_phone, moved)
    assert_heard(local_phone, LAN_TONE)
    assert_heard(moved, LOCAL_TONE)
    assert first_lan.address != second_lan.address
