"""An extension registered from two baresip phones rings on both (parallel forking)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.e2e.phones import registered
from tests.peers.audio import dominant_frequency

pytestmark = pytest.mark.peers


def two_devices_on_102(switch_factory, phone_factory):
    """A switch, caller 101, and extension 102 registered from a desk phone and a mobile
    that both ring until told to answer."""
    harness = switch_factory()
    caller = registered(phone_factory, harness, "101", 440.0)
    desk = registered(phone_factory, harness, "102", 700.0, answermode="manual")
    mobile = registered(phone_factory, harness, "102", 1000.0, answermode="manual")
    return harness, harness.config.sip_host_port[1], caller, desk, mobile


def bindings(harness, number):
    return harness.call(lambda: len(harness.switch.registrar.contacts(number)))


def test_both_devices_ring_and_the_one_that_answers_gets_the_call(switch_factory, phone_factory):
    harness, port, caller, desk, mobile = two_devices_on_102(switch_factory, phone_factory)
    assert bindings(harness, "102") == 2

    caller.dial(f"sip:102@127.0.0.1:{port}")
    desk.wait_incoming()
    mobile.wait_incoming()
    mobile.accept()
    mobile.wait_call_established()
    caller.wait_call_established()
    assert desk.wait_call_closed().reason  # the switch cancelled the desk phone
    assert harness.call(lambda: len(harness.switch.channels)) == 2
    time.sleep(2.5)
    caller.hangup()
    caller.wait_call_closed()
    assert mobile.wait_call_closed().reason
    time.sleep(0.5)
    assert abs(dominant_frequency(caller.last_recording("dec")) - 1000.0) < 15
    assert abs(dominant_frequency(mobile.last_recording("dec")) - 440.0) < 15


def test_one_device_busy_the_other_still_rings_and_answers(switch_factory, phone_factory):
    harness, port, caller, desk, mobile = two_devices_on_102(switch_factory, phone_factory)

    caller.dial(f"sip:102@127.0.0.1:{port}")
    desk.wait_incoming()
    mobile.wait_incoming()
    desk.hangup()  # rejects: 486 Busy Here
    time.sleep(1.0)
    assert caller.events_of("call_end") == []  # the caller still hears ringing
    mobile.accept()
    mobile.wait_call_established()
    caller.wait_call_established()
    caller.hangup()
    assert mobile.wait_call_closed().reason


def test_every_device_busy_reads_busy_and_caller_cancel_reaches_all(switch_factory, phone_factory):
    harness, port, caller, desk, mobile = two_devices_on_102(switch_factory, phone_factory)

    caller.dial(f"sip:102@127.0.0.1:{port}")
    desk.wait_incoming()
    mobile.wait_incoming()
    desk.hangup()
    mobile.hangup()
    assert caller.wait_call_closed().reason.startswith("486")

    caller.dial(f"sip:102@127.0.0.1:{port}")
    desk.wait_incoming()
    mobile.wait_incoming()
    caller.hangup()  # CANCEL from the caller: both devices stop ringing
    assert desk.wait_call_closed().reason
    assert mobile.wait_call_closed().reason
    deadline = time.monotonic() + 5
    while harness.call(lambda: len(harness.switch.channels)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert harness.call(lambda: len(harness.switch.channels)) == 0


def test_a_device_gone_silent_neither_blocks_the_call_nor_holds_the_caller(
    switch_factory, phone_factory
):
    harness = switch_factory(sip={"ring_timeout": 3})
    port = harness.config.sip_host_port[1]
    caller = registered(phone_factory, harness, "101", 440.0)
    gone = registered(phone_factory, harness, "102", 700.0)
    os.kill(gone.process.pid, signal.SIGKILL)  # no unREGISTER: its binding stays
    gone.process.wait(5)
    mobile = registered(phone_factory, harness, "102", 1000.0, answermode="manual")
    assert bindings(harness, "102") == 2

    caller.dial(f"sip:102@127.0.0.1:{port}")
    mobile.wait_incoming()
    mobile.accept()
    caller.wait_call_established()
    caller.hangup()
    caller.wait_call_closed()
    mobile.wait_call_closed()

    # nobody answers: after the ring timeout the caller hears "no answer" at once, not
    # when the silent device's INVITE transaction gives up 32 s later (Timer B)
    caller.dial(f"sip:102@127.0.0.1:{port}")
    mobile.wait_incoming()
    assert caller.wait_call_closed(timeout=20).reason.startswith("408")
    assert mobile.wait_call_closed().reason
