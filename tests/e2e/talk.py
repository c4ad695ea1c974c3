"""What the namespace-host call tests share: let two phones talk, then check the tone heard."""

from __future__ import annotations

import time

from tests.peers.audio import band_energy_ratio, dominant_frequency
from tests.peers.baresip import Baresip


def talk_and_hang_up(hanging_up: Baresip, other: Baresip) -> None:
    other.wait_call_established()
    hanging_up.wait_call_established()
    time.sleep(3)
    hanging_up.hangup()
    hanging_up.wait_call_closed()
    assert other.wait_call_closed().reason  # the switch relayed the BYE
    time.sleep(0.5)


def assert_heard(phone: Baresip, tone: float) -> None:
    heard = phone.last_recording("dec")
    assert abs(dominant_frequency(heard) - tone) < 15, phone.name
    assert band_energy_ratio(heard, tone) > 0.5, phone.name
