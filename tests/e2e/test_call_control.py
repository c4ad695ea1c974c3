"""Call control through real phones: originate, DTMF relay, hold, shutdown."""

from __future__ import annotations

import time

import pytest

from tests.e2e.phones import registered
from tests.peers.audio import dominant_frequency
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers


def connect(harness, caller, callee, number="102"):
    caller.dial(f"sip:{number}@{harness.config.sip.listen}")
    callee.wait_call_established()
    caller.wait_call_established()


def test_originate_rings_the_extension_and_reports_states(switch_factory, phone_factory):
    harness = switch_factory()
    callee = registered(phone_factory, harness, "102")
    events: list[str] = []

    async def dial():
        channel = await harness.switch.originate("102", caller_id="555")
        channel.add_listener(lambda e: events.append(e.state))
        return channel

    channel = harness.run(dial())
    assert channel.name.startswith("SIP/102-")
    callee.wait_call_established()
    wait_until(lambda: "up" in events, 5, what="channel up")
    assert events.index("ringing") < events.index("up")
    harness.run(channel.hangup("done"))
    callee.wait_call_closed()
    assert events[-1] == "hungup" and channel.cause == "done"


def test_originate_to_unregistered_or_unknown_fails_clearly(switch_factory):
    from softswitch.switch import SwitchError

    harness = switch_factory()
    with pytest.raises(SwitchError) as not_registered:
        harness.run(harness.switch.originate("102"))
    assert not_registered.value.status == 480
    with pytest.raises(SwitchError) as nowhere:
        harness.run(harness.switch.originate("999"))
    assert nowhere.value.status == 404


def test_rfc4733_digits_are_relayed_between_legs(switch_factory, phone_factory):
    harness = switch_factory()
    caller = registered(phone_factory, harness, "101")
    callee = registered(phone_factory, harness, "102")
    connect(harness, caller, callee)
    for digit in "159#":
        caller.send_dtmf(digit)
        time.sleep(0.4)
    assert callee.wait_dtmf("159#") == "159#"
    caller.hangup()
    callee.wait_call_closed()


def test_hold_and_resume_by_reinvite(switch_factory, phone_factory):
    harness = switch_factory()
    caller = registered(phone_factory, harness, "101", 440.0)
    callee = registered(phone_factory, harness, "102", 1000.0)
    connect(harness, caller, callee)

    def directions():
        return harness.call(
            lambda: {ch.endpoint.name: ch.rtp.direction for ch in harness.switch.channels}
        )

    caller.command("/hold")
    wait_until(lambda: directions().get("101") in ("recvonly", "inactive"), 5, what="on hold")
    caller.command("/resume")
    wait_until(lambda: directions().get("101") == "sendrecv", 5, what="resumed")
    time.sleep(2)
    caller.hangup()
    callee.wait_call_closed()
    time.sleep(0.5)
    assert abs(dominant_frequency(callee.last_recording("dec")) - 440.0) < 15


def test_shutdown_hangs_up_live_calls(switch_factory, phone_factory):
    harness = switch_factory()
    caller = registered(phone_factory, harness, "101")
    callee = registered(phone_factory, harness, "102")
    connect(harness, caller, callee)
    harness.stop()
    assert caller.wait_call_closed().reason
    assert callee.wait_call_closed().reason
