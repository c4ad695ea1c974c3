"""pyVoIP, an independent Python softphone, registered as an extension and answering.

Tolerated pyVoIP 1.6.8 quirks (see tests/peers/pyvoip.py): it answers about 1 s late,
computes digest without qop over the fixed uri "sip:<server>;transport=UDP", and is
offered PCMU only. None of it needs the switch to relax its security.
"""

from __future__ import annotations

import time

import pytest

from tests.peers.audio import dominant_frequency, make_tone_wav
from tests.peers.baresip import BaresipAccount

pytestmark = pytest.mark.peers


def test_pyvoip_registers_and_answers_a_call_from_baresip(
    tmp_path, switch_factory, phone_factory, pyvoip_factory
):
    harness = switch_factory()
    registrar = harness.config.sip.listen
    tone = make_tone_wav(tmp_path / "pyvoip-mic.wav", 800.0, 30)
    callee = pyvoip_factory("102", "pw102", registrar, play_wav=tone)
    callee.wait_registered()
    assert harness.call(lambda: len(harness.switch.registrar.contacts("102"))) == 1

    caller = phone_factory(BaresipAccount("101", "pw101", registrar=registrar), tone_hz=500.0)
    caller.wait_registered()
    caller.dial(f"sip:102@{registrar}")
    callee.wait_event("incoming")
    callee.wait_event("answered")
    caller.wait_call_established()
    time.sleep(3)
    caller.hangup()
    caller.wait_call_closed()
    ended = callee.wait_event("ended")
    time.sleep(0.5)
    assert abs(dominant_frequency(caller.last_recording("dec")) - 800.0) < 20
    assert abs(dominant_frequency(ended["recording"]) - 500.0) < 20


def test_pyvoip_with_a_wrong_password_is_refused(switch_factory, pyvoip_factory):
    harness = switch_factory()
    phone = pyvoip_factory("102", "not-the-password", harness.config.sip.listen)
    time.sleep(4)  # pyVoIP keeps retrying quietly; give it several attempts
    assert not [e for e in phone.events() if e.get("status") == "PhoneStatus.REGISTERED"]
    assert harness.call(lambda: harness.switch.registrar.contacts("102")) == []
