"""Two real softphones (baresip) registered as extensions call each other through the switch."""

from __future__ import annotations

import time

import pytest

from tests.peers.audio import band_energy_ratio, dominant_frequency
from tests.peers.baresip import BaresipAccount

pytestmark = pytest.mark.peers


def register_phone(phone_factory, switch, number, tone_hz, **kwargs):
    account = BaresipAccount(
        number, f"pw{number}", registrar=f"127.0.0.1:{switch.config.sip_host_port[1]}", **kwargs
    )
    phone = phone_factory(account, tone_hz=tone_hz)
    phone.wait_registered()
    return phone


def test_extension_calls_extension_with_audio_both_ways(switch_factory, phone_factory):
    harness = switch_factory()
    port = harness.config.sip_host_port[1]
    caller = register_phone(phone_factory, harness, "101", 440.0)
    callee = register_phone(phone_factory, harness, "102", 1000.0)

    caller.dial(f"sip:102@127.0.0.1:{port}")
    callee.wait_incoming()
    callee.wait_call_established()
    caller.wait_call_established()
    assert harness.call(lambda: len(harness.switch.channels)) == 2
    time.sleep(3)
    caller.hangup()
    caller.wait_call_closed()
    closed = callee.wait_call_closed()
    assert closed.reason  # the switch relayed the BYE to 102
    # wait for baresip to finish its WAV files, then listen to what each side heard
    time.sleep(0.5)
    heard_by_callee = callee.last_recording("dec")
    heard_by_caller = caller.last_recording("dec")
    assert abs(dominant_frequency(heard_by_callee) - 440.0) < 15
    assert abs(dominant_frequency(heard_by_caller) - 1000.0) < 15
    assert band_energy_ratio(heard_by_callee, 440.0) > 0.5
    deadline = time.monotonic() + 5
    while harness.call(lambda: len(harness.switch.channels)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert harness.call(lambda: len(harness.switch.channels)) == 0


def test_callee_hangs_up_and_pcmu_to_pcma_transcodes(switch_factory, phone_factory):
    harness = switch_factory()
    port = harness.config.sip_host_port[1]
    caller = register_phone(phone_factory, harness, "101", 600.0, audio_codecs="PCMU")
    callee = register_phone(phone_factory, harness, "102", 1400.0, audio_codecs="PCMA")
    caller.dial(f"sip:102@127.0.0.1:{port}")
    callee.wait_call_established()
    caller.wait_call_established()
    codecs = harness.call(lambda: sorted(ch.media.codec for ch in harness.switch.channels))
    assert codecs == ["PCMA", "PCMU"]
    time.sleep(2.5)
    callee.hangup()
    callee.wait_call_closed()
    assert caller.wait_call_closed().reason
    time.sleep(0.5)
    assert abs(dominant_frequency(callee.last_recording("dec")) - 600.0) < 15
    assert abs(dominant_frequency(caller.last_recording("dec")) - 1400.0) < 15


def test_unregistered_and_unknown_numbers(switch_factory, phone_factory):
    harness = switch_factory(extensions={"101": "pw101", "102": "pw102"})
    port = harness.config.sip_host_port[1]
    caller = register_phone(phone_factory, harness, "101", 440.0)
    caller.dial(f"sip:102@127.0.0.1:{port}")  # 102 exists but is not registered
    assert caller.wait_call_closed().reason.startswith("480")
    caller.dial(f"sip:555@127.0.0.1:{port}")  # no trunk: nowhere to go
    assert caller.wait_call_closed().reason.startswith("404")
