"""Call forwarding, DND and pickup with real phones: baresip extensions dial the feature
codes (*78/*79 DND, *90 forward on busy, *72/*73 forward always, *8 group pickup,
**<ext> directed pickup); the calls then go where the settings say, audio both ways.
Kamailio as the carrier: a customer's call forwarded out keeps the customer's number."""

from __future__ import annotations

import pytest

from tests.e2e.phones import registered
from tests.e2e.talk import assert_heard, talk_and_hang_up
from tests.peers.audio import dominant_frequency, read_wav
from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.kamailio import Kamailio, KamailioConfig
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

TONES = {"101": 500.0, "102": 770.0, "103": 1250.0}


def extensions(**settings: dict) -> dict:
    return {n: {"password": f"pw{n}", **settings.get(f"x{n}", {})} for n in TONES}


def phone(phone_factory, harness, number: str, answermode: str = "auto") -> Baresip:
    return registered(phone_factory, harness, number, TONES[number], answermode=answermode)


def dial(harness, p: Baresip, number: str) -> None:
    p.dial(f"sip:{number}@127.0.0.1:{harness.config.sip_host_port[1]}")


def feature(harness, p: Baresip, code: str) -> None:
    """Dial a feature code: the switch answers, beeps (660 and 880 Hz) and hangs up."""
    dial(harness, p, code)
    p.wait_call_established()
    closed = p.wait_call_closed(timeout=10)
    assert closed.reason, closed  # the switch ended the call (BYE)
    samples, rate = read_wav(p.last_recording("dec"))
    assert min(abs(dominant_frequency(samples, rate) - f) for f in (660.0, 880.0)) < 15


def features_of(harness, number: str):
    return harness.call(lambda: harness.switch.call_features.get(number))


def no_channels_left(harness) -> None:
    wait_until(lambda: harness.call(lambda: len(harness.switch.channels)) == 0, 10)


def forwarding_phones(phone_factory, harness) -> tuple[Baresip, Baresip, Baresip]:
    """101, which answers only by hand (busy, away, silent); 102, the caller; 103, where
    101 forwards."""
    return (
        phone(phone_factory, harness, "101", answermode="manual"),
        phone(phone_factory, harness, "102"),
        phone(phone_factory, harness, "103"),
    )


def talked(harness, hanging_up: Baresip, other: Baresip) -> None:
    """The two talk until ``hanging_up`` hangs up: each heard the other's tone, and no
    channel is left."""
    talk_and_hang_up(hanging_up, other)
    assert_heard(hanging_up, TONES[other.account.user])
    assert_heard(other, TONES[hanging_up.account.user])
    no_channels_left(harness)


def test_dnd_by_feature_code(switch_factory, phone_factory):
    harness = switch_factory(extensions=extensions())
    callee = phone(phone_factory, harness, "101", answermode="manual")
    caller = phone(phone_factory, harness, "102")
    feature(harness, callee, "*78")
    assert features_of(harness, "101").dnd
    dial(harness, caller, "101")
    assert caller.wait_call_closed(timeout=10).reason.startswith("486")
    assert not callee.events_of("incoming")  # 101 never rang
    feature(harness, callee, "*79")
    assert not features_of(harness, "101").dnd
    dial(harness, caller, "101")
    callee.wait_incoming()  # it rings again
    caller.hangup()
    caller.wait_call_closed()
    callee.wait_call_closed()
    no_channels_left(harness)


def test_forward_on_busy_by_feature_code(switch_factory, phone_factory):
    harness = switch_factory(extensions=extensions())
    busy, caller, target = forwarding_phones(phone_factory, harness)
    feature(harness, busy, "*90103")
    assert features_of(harness, "101").forward_busy == "103"
    dial(harness, caller, "101")
    busy.wait_incoming()
    busy.hangup()  # 486 Busy Here from the phone: the call goes on to 103
    talked(harness, caller, target)
    feature(harness, busy, "*91")
    assert features_of(harness, "101").forward_busy == ""


def test_forward_on_no_answer_from_config(switch_factory, phone_factory):
    harness = switch_factory(
        extensions=extensions(x101={"forward_no_answer": "103", "no_answer_timeout": 2})
    )
    silent, caller, target = forwarding_phones(phone_factory, harness)
    dial(harness, caller, "101")
    silent.wait_incoming()  # rings 2 s, unanswered, then is cancelled
    assert silent.wait_call_closed(timeout=10).reason
    talked(harness, target, caller)


def test_forward_on_no_answer_when_not_registered(switch_factory, phone_factory):
    harness = switch_factory(extensions=extensions(x101={"forward_no_answer": "103"}))
    caller = phone(phone_factory, harness, "102")  # 101 has no phone registered
    target = phone(phone_factory, harness, "103")
    dial(harness, caller, "101")
    talk_and_hang_up(caller, target)
    assert_heard(caller, TONES["103"])
    no_channels_left(harness)


def test_forward_always_by_feature_code(switch_factory, phone_factory):
    harness = switch_factory(extensions=extensions())
    away, caller, target = forwarding_phones(phone_factory, harness)
    feature(harness, away, "*72103")
    dial(harness, caller, "101")
    talked(harness, caller, target)
    assert not away.events_of("incoming")  # 101 never rang
    feature(harness, away, "*73")
    dial(harness, caller, "101")
    away.wait_incoming()
    caller.hangup()
    away.wait_call_closed()


@pytest.mark.parametrize("code", ["*8", "**101"])
def test_pickup_of_a_ringing_phone(switch_factory, phone_factory, code):
    group = {"pickup_group": "sales"}
    harness = switch_factory(extensions=extensions(x101=group, x103=group))
    ringing = phone(phone_factory, harness, "101", answermode="manual")
    caller = phone(phone_factory, harness, "102")
    picker = phone(phone_factory, harness, "103")
    dial(harness, caller, "101")
    ringing.wait_incoming()  # 101 rings and does not answer
    dial(harness, picker, code)
    assert ringing.wait_call_closed(timeout=10).reason  # cancelled: picked up
    talked(harness, picker, caller)


def test_pickup_with_nothing_ringing_is_refused(switch_factory, phone_factory):
    harness = switch_factory(extensions=extensions(x103={"pickup_group": "sales"}))
    picker = phone(phone_factory, harness, "103")
    dial(harness, picker, "*8")
    assert picker.wait_call_closed(timeout=10).reason.startswith("404")


def test_a_carrier_call_forwarded_out_keeps_the_caller_s_number(
    tmp_path, ports, switch_factory, phone_factory
):
    """A customer calls 101 from outside; 101 forwards always to a mobile behind the
    same carrier: the call leaves through the trunk with the customer's number as
    caller ID, and the two talk."""
    customer, mobile = "5552000", "5551000"
    switch_port = ports.port()
    kam = Kamailio(
        tmp_path / "carrier",
        KamailioConfig(
            port=ports.port(),
            users={"trunkuser": "trunkpass", customer: "cpw", mobile: "mpw"},
            static_routes={"10": f"127.0.0.1:{switch_port}"},
        ),
    )
    kam.start()
    harness = None
    try:
        trunk = {
            "name": "carrier",
            "host": kam.address,
            "username": "trunkuser",
            "password": "trunkpass",
            "caller_id": "15168148111",
        }
        harness = switch_factory(
            extensions=extensions(x101={"forward_always": mobile}),
            trunks=[trunk],
            sip={"listen": f"127.0.0.1:{switch_port}"},
        )
        kam.wait_registered("trunkuser")
        away = phone(phone_factory, harness, "101")
        outside = phone_factory(
            BaresipAccount(customer, "cpw", registrar=kam.address), tone_hz=TONES["102"]
        )
        cell = phone_factory(
            BaresipAccount(mobile, "mpw", registrar=kam.address), tone_hz=TONES["103"]
        )
        outside.wait_registered()
        cell.wait_registered()
        outside.dial(f"sip:101@{kam.address}")  # the DID is the extension number
        incoming = cell.wait_incoming()
        assert customer in incoming.line, incoming.line  # the customer's caller ID
        talk_and_hang_up(outside, cell)
        assert not away.events_of("answering")  # 101 never rang
        assert_heard(outside, TONES["103"])
        assert_heard(cell, TONES["102"])
        no_channels_left(harness)
    finally:
        if harness is not None:
            harness.stop()  # first: it unregisters from the carrier, which must still answer
        kam.stop()
