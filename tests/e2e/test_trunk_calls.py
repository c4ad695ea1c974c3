"""Kamailio as the carrier: trunk registration with digest auth, calls out and in."""

from __future__ import annotations

import time

import pytest

from softswitch.sip.transaction import Timers
from tests.peers.audio import dominant_frequency
from tests.peers.baresip import BaresipAccount
from tests.peers.kamailio import Kamailio, KamailioConfig
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

OUTSIDE = "5551000"  # a customer of the carrier, registered behind kamailio


@pytest.fixture
def carrier(tmp_path, ports):
    kam = Kamailio(
        tmp_path / "kamailio",
        KamailioConfig(port=ports.port(), users={"trunkuser": "trunkpass", OUTSIDE: "outpw"}),
    )
    kam.start()
    yield kam
    kam.stop()


def trunk(kam: Kamailio, password: str = "trunkpass", **extra) -> dict:
    return {
        "name": "carrier",
        "host": kam.address,
        "username": "trunkuser",
        "password": password,
        "caller_id": "15168148111",
        **extra,
    }


def health(harness) -> dict:
    return harness.call(harness.switch.health)


def test_trunk_registers_and_wrong_password_is_a_clear_failing_status(carrier, switch_factory):
    good = switch_factory(trunks=[trunk(carrier)])
    carrier.wait_registered("trunkuser")
    status = wait_until(
        lambda: health(good)["trunks"]["carrier"]["state"] == "registered" and health(good),
        10,
        what="trunk registered",
    )
    assert status["trunks"]["carrier"]["expires_in"] > 0
    good.stop()
    # SIGTERM-style shutdown unregisters: the carrier forgets us
    wait_until(lambda: not carrier.registered("trunkuser"), 5, what="unregistered")

    bad = switch_factory(trunks=[trunk(carrier, password="wrong")])
    failing = wait_until(
        lambda: (h := health(bad)["trunks"]["carrier"])["state"] == "failing" and h,
        10,
        what="trunk failing",
    )
    assert "authentication rejected" in failing["last_error"]


def test_extension_calls_outside_number_through_the_trunk(carrier, switch_factory, phone_factory):
    harness = switch_factory(trunks=[trunk(carrier)])
    carrier.wait_registered("trunkuser")
    outside = phone_factory(
        BaresipAccount(OUTSIDE, "outpw", registrar=carrier.address), tone_hz=700.0
    )
    outside.wait_registered()
    port = harness.config.sip_host_port[1]
    ext = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{port}"), tone_hz=1200.0
    )
    ext.wait_registered()

    ext.dial(f"sip:{OUTSIDE}@127.0.0.1:{port}")
    incoming = outside.wait_incoming()
    assert "15168148111" in incoming.line or incoming  # caller ID of the trunk
    outside.wait_call_established()
    ext.wait_call_established()
    time.sleep(3)
    outside.hangup()
    outside.wait_call_closed()
    assert ext.wait_call_closed().reason
    time.sleep(0.5)
    assert abs(dominant_frequency(outside.last_recording("dec")) - 1200.0) < 15
    assert abs(dominant_frequency(ext.last_recording("dec")) - 700.0) < 15


def test_call_from_the_trunk_rings_the_extension(tmp_path, ports, switch_factory, phone_factory):
    switch_port = ports.port()
    kam = Kamailio(
        tmp_path / "kam-in",
        KamailioConfig(
            port=ports.port(),
            users={"trunkuser": "trunkpass", OUTSIDE: "outpw"},
            static_routes={"10": f"127.0.0.1:{switch_port}"},
        ),
    )
    kam.start()
    harness = None
    try:
        harness = switch_factory(trunks=[trunk(kam)], sip={"listen": f"127.0.0.1:{switch_port}"})
        kam.wait_registered("trunkuser")
        ext = phone_factory(
            BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{switch_port}"), tone_hz=900.0
        )
        ext.wait_registered()
        outside = phone_factory(
            BaresipAccount(OUTSIDE, "outpw", registrar=kam.address), tone_hz=500.0
        )
        outside.wait_registered()
        outside.dial(f"sip:101@{kam.address}")  # the DID is the extension number
        ext.wait_call_established()
        outside.wait_call_established()
        time.sleep(2.5)
        ext.hangup()
        ext.wait_call_closed()
        outside.wait_call_closed()
        time.sleep(0.5)
        assert abs(dominant_frequency(ext.last_recording("dec")) - 500.0) < 15
        assert abs(dominant_frequency(outside.last_recording("dec")) - 900.0) < 15
    finally:
        if harness is not None:
            harness.stop()  # first: it unregisters from the carrier, which must still answer
        kam.stop()


def test_a_carrier_that_stops_answering_the_keepalive_shows_in_health_until_it_is_back(
    carrier, switch_factory, tmp_path
):
    # short SIP timers: an unanswered ping times out in 3.2 s instead of 32 s
    harness = switch_factory(
        trunks=[trunk(carrier, keepalive=1)], timers=Timers(t1=0.05, t2=0.2, t4=0.2)
    )
    carrier.wait_registered("trunkuser")

    def state() -> str:
        return health(harness)["trunks"]["carrier"]["carrier"]

    wait_until(lambda: state() == "reachable", 10, what="keepalive answered")
    carrier.stop()
    wait_until(lambda: state() == "unreachable", 15, what="carrier marked unreachable")
    # the same carrier back on the same address: its next answer clears the mark
    again = Kamailio(tmp_path / "kamailio-again", carrier.config)
    again.start()
    try:
        wait_until(lambda: state() == "reachable", 15, what="carrier reachable again")
    finally:
        again.stop()
