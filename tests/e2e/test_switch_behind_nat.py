"""The switch itself behind NAT: it runs on an office host behind a masquerading router
and registers, through the router, to a carrier (kamailio) on the "internet" side.

    office LAN 198.19.N.0/24            router               "internet" (root namespace)
    switch (0.0.0.0) + phone 101  ──  masquerade, UDP  ──  kamailio (the carrier) and
                                      mappings expire       outside phone 5551000, both
                                      after 20 s            on the WAN link's far end

The switch's `external_address` is the router's outside address, so the carrier is told
that address in Via, Contact and SDP, while the office phone (inside `local_networks`)
is told the LAN one. Like an office router in front of a PBX, the router forwards the
switch's RTP port range to it; SIP gets no port forward: the carrier's INVITEs come in
only through the mapping the trunk's REGISTER opened, which the trunk's keepalive pings
keep open. The carrier routes the switch's DIDs to wherever the trunk registered, as
carriers do, and keeps the Contact the switch sent (no far-end NAT fix-up needed).
"""

from __future__ import annotations

import ipaddress
import time

import pytest

from tests.e2e.talk import assert_heard, talk_and_hang_up
from tests.peers.baresip import Baresip
from tests.peers.kamailio import Kamailio
from tests.peers.netns import NatHost, NetLab
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

OUTSIDE = "5551000"  # a customer of the carrier
OFFICE_TONE = 900.0
OUTSIDE_TONE = 500.0


class Office:
    """The lab of one test: the office behind its router, the carrier, both phones."""

    def __init__(
        self,
        netlab: NetLab,
        kamailio_factory,
        switch_factory,
        baresip_factory,
        *,
        udp_timeout: int = 20,
        keepalive: int = 10,
    ) -> None:
        self.nat: NatHost = netlab.nat_host(udp_timeout=udp_timeout)
        # the carrier listens on the root namespace's end of the router's WAN link
        self.carrier: Kamailio = kamailio_factory(
            users={"trunkuser": "trunkpass", OUTSIDE: "outpw"},
            host=self.nat.gateway,
            trunk_routes={"10": "trunkuser"},  # the switch's DIDs: its extensions
        )
        office_lan = ipaddress.ip_interface(f"{self.nat.address}/24").network
        self.harness = switch_factory(
            netns=self.nat.name,
            listen_host="0.0.0.0",
            sip={"external_address": self.nat.public_address, "local_networks": [str(office_lan)]},
            trunks=[
                {
                    "name": "carrier",
                    "host": self.carrier.address,
                    "username": "trunkuser",
                    "password": "trunkpass",
                    "caller_id": "15168148111",
                    "keepalive": keepalive,
                }
            ],
        )
        netlab.forward_udp(self.nat, *self.harness.config.rtp_port_range)
        self.port = self.harness.config.sip_host_port[1]
        self.phone: Baresip = baresip_factory(
            "101",
            "pw101",
            f"{self.nat.address}:{self.port}",
            tone_hz=OFFICE_TONE,
            netns_host=self.nat,
        )
        self.outside: Baresip = baresip_factory(
            OUTSIDE,
            "outpw",
            self.carrier,
            tone_hz=OUTSIDE_TONE,
            address=self.nat.gateway,
            regint=600,
        )
        self.phone.wait_registered()
        self.outside.wait_registered()

    def trunk_health(self) -> dict:
        return self.harness.call(self.harness.switch.health)["trunks"]["carrier"]

    def wait_trunk_registered(self) -> list[str]:
        wait_until(
            lambda: self.trunk_health()["state"] == "registered", 15, what="trunk registered"
        )
        return self.carrier.wait_registered("trunkuser")


@pytest.fixture
def office_factory(netlab, kamailio_factory, switch_factory, baresip_factory):
    def make(**options) -> Office:
        return Office(netlab, kamailio_factory, switch_factory, baresip_factory, **options)

    return make


def talk(office, hanging_up: Baresip, other: Baresip) -> None:
    """The office phone and the outside one talk until ``hanging_up`` hangs up; each
    heard the other."""
    talk_and_hang_up(hanging_up, other)
    assert_heard(office.outside, OFFICE_TONE)
    assert_heard(office.phone, OUTSIDE_TONE)


def test_the_trunk_registers_through_the_nat_with_the_external_address(office_factory):
    office = office_factory()
    (contact,) = office.wait_trunk_registered()
    # the carrier holds the router's outside address, as the switch advertised it
    assert contact == f"sip:trunkuser@{office.nat.public_address}:{office.port}"
    (registered,) = [r for r in office.carrier.log_lines("REGISTERED") if "trunkuser" in r]
    assert f"from {office.nat.public_address}:" in registered  # it came through the router
    # the office phone, inside local_networks, was told the LAN address
    (binding,) = office.harness.call(lambda: office.harness.switch.registrar.contacts("101"))
    assert binding.source_host == office.nat.address
    wait_until(
        lambda: office.trunk_health()["carrier"] == "reachable", 15, what="keepalive answered"
    )


def test_office_phone_calls_an_outside_number_through_the_carrier(office_factory):
    office = office_factory()
    office.wait_trunk_registered()
    office.phone.dial(f"sip:{OUTSIDE}@{office.nat.address}:{office.port}")
    office.outside.wait_incoming()
    (route,) = office.carrier.log_lines("ROUTE")
    assert OUTSIDE in route
    talk(office, office.outside, office.phone)


def test_outside_call_to_the_did_reaches_the_extension(office_factory):
    office = office_factory()
    office.wait_trunk_registered()
    office.outside.dial(f"sip:101@{office.carrier.address}")
    office.phone.wait_incoming()
    (route,) = office.carrier.log_lines("TRUNK-ROUTE")
    assert f"{office.nat.public_address}:{office.port}" in route  # through the mapping
    talk(office, office.phone, office.outside)


IDLE_TIMEOUT = 4  # the router's UDP timeout in the idle tests: they wait 3 times as long


@pytest.mark.slow  # idles past a NAT router's timeout
def test_after_idling_past_the_routers_timeout_the_carriers_call_still_arrives(office_factory):
    """The trunk's keepalive pings travel the mapping its REGISTER opened and keep it
    open: a call from the carrier long after the registration still gets in."""
    office = office_factory(udp_timeout=IDLE_TIMEOUT, keepalive=1)
    office.wait_trunk_registered()
    time.sleep(3 * IDLE_TIMEOUT)  # nothing but the keepalives
    assert office.harness.call(lambda: office.harness.switch.trunks[0].keepalive.sent) >= 5
    assert office.trunk_health()["carrier"] == "reachable"
    office.outside.dial(f"sip:101@{office.carrier.address}")
    office.phone.wait_incoming()
    talk(office, office.phone, office.outside)


def test_without_the_keepalive_the_idle_switch_is_lost_to_the_carrier(office_factory):
    """The control: no keepalives, the router forgets the mapping, the carrier's INVITE
    is dropped at the router and the extension never rings."""
    office = office_factory(udp_timeout=IDLE_TIMEOUT, keepalive=0)
    office.wait_trunk_registered()
    time.sleep(3 * IDLE_TIMEOUT)
    office.outside.dial(f"sip:101@{office.carrier.address}")
    closed = office.outside.wait_call_closed(timeout=20)
    assert closed.reason and closed.reason.startswith("408")  # the carrier's timer ran out
    assert not office.phone.events_of("answering")
