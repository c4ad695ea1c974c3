"""Reliable provisional responses (RFC 3262, 100rel/PRACK) with real peers.

A sipp caller that requires 100rel calls a baresip phone through the switch: the
switch's 180 comes reliably, sipp PRACKs it, the phone answers, audio flows (sipp
echoes it back to the phone). A sipp carrier behind a trunk answers a baresip phone's
outgoing call with a reliable 183 carrying early-media SDP: the switch PRACKs it, the
early media and then the answered call carry the phone's audio both ways.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from softswitch.sip.invite import IncomingInvite
from softswitch.sip.reliable import PrackMode
from softswitch.sip.transaction import Timers
from tests.e2e.talk import assert_heard
from tests.peers.baresip import BaresipAccount
from tests.peers.process import wait_until
from tests.peers.sipp import start_sipp
from tests.switch_harness import ip_trunk

pytestmark = pytest.mark.peers

SCENARIOS = Path(__file__).parent / "scenarios"
NUMBER = "5550001"  # an outside number: goes to the trunk
TONE = 900.0


def test_caller_requiring_100rel_pracks_our_180_and_the_call_connects(
    tmp_path, ports, switch_factory, phone_factory, caplog
) -> None:
    uac_port, media_port = ports.port(), ports.port()
    harness = switch_factory(trunks=[ip_trunk("peer", uac_port)])
    port = harness.config.sip_host_port[1]
    callee = phone_factory(
        BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}", answermode="manual"),
        tone_hz=TONE,
    )
    callee.wait_registered()
    caller = start_sipp(
        tmp_path,
        str(SCENARIOS / "uac_100rel_call.xml"),
        remote=harness.config.sip.listen,
        service="102",
        port=uac_port,
        media_port=media_port,
        duration_ms=4000,
        rtp_echo=True,
        timeout=25,
    )
    callee.wait_incoming()

    def pracked() -> bool:
        # the inbound leg sent its reliable 180 and sipp has acknowledged it
        return harness.call(
            lambda: any(
                isinstance(ch.session, IncomingInvite)
                and ch.session.prack_stance == PrackMode.REQUIRED
                and ch.session.pracked == 1
                and not ch.session.awaiting_prack
                for ch in harness.switch.channels
                if ch.direction == "inbound"
            )
        )

    wait_until(pracked, 5, what="the 180 PRACKed")
    callee.accept()
    callee.wait_call_established()
    result = caller.wait()
    assert result.ok, result.describe()  # 180 reliable, PRACK 200, INVITE 200, BYE 200
    callee.wait_call_closed()
    messages = result.messages()
    assert "RSeq:" in messages and "RAck:" in messages
    assert_heard(callee, TONE)  # to sipp and echoed back: audio both ways
    assert "Traceback" not in caplog.text


def test_carrier_requiring_100rel_gets_its_prack_and_early_media_flows(
    tmp_path, ports, switch_factory, phone_factory, caplog
) -> None:
    far_port, media_port = ports.port(), ports.port()
    far = start_sipp(
        tmp_path,
        str(SCENARIOS / "uas_100rel_early_media.xml"),
        port=far_port,
        media_port=media_port,
        duration_ms=2000,  # early media before the answer
        rtp_echo=True,
        timeout=25,
    )
    harness = switch_factory(trunks=[ip_trunk("carrier", far_port, prack="supported")])
    port = harness.config.sip_host_port[1]
    caller = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{port}"), tone_hz=TONE
    )
    caller.wait_registered()
    caller.dial(f"sip:{NUMBER}@{harness.config.sip.listen}")
    caller.wait_call_established(timeout=15)
    time.sleep(3)
    caller.hangup()
    caller.wait_call_closed()
    result = far.wait()
    assert result.ok, result.describe()  # Supported: 100rel seen, PRACK with RAck 1 n INVITE
    assert "PRACK sip:" in result.messages()
    assert_heard(caller, TONE)  # through the carrier's echo: both ways
    assert "Traceback" not in caplog.text


def test_caller_that_never_pracks_our_early_media_gets_500_and_the_far_end_a_bye(
    tmp_path, ports, switch_factory, caplog
) -> None:
    """The far end answers while our reliable 183 waits for its PRACK: the 2xx is held
    (RFC 3262 3); no PRACK in 64*T1: the caller gets 500, the answered far end a BYE."""
    uac_port, far_port = ports.port(), ports.port()
    far = start_sipp(
        tmp_path,
        str(SCENARIOS / "uas_early_media_answer.xml"),
        port=far_port,
        media_port=ports.port(),
        duration_ms=500,
        timeout=20,
    )
    # short timers: 64*T1 is 3.2 s instead of 32 s
    harness = switch_factory(
        trunks=[ip_trunk("carrier", far_port)], timers=Timers(t1=0.05, t2=0.4, t4=0.5)
    )
    caller = start_sipp(
        tmp_path,
        str(SCENARIOS / "uac_100rel_no_prack.xml"),
        remote=harness.config.sip.listen,
        service=NUMBER,
        auth=("101", "pw101"),
        keys={"caller": "101"},
        port=uac_port,
        media_port=ports.port(),
        timeout=20,
    )
    result = caller.wait()
    assert result.ok, result.describe()  # the reliable 183 (retransmitted), then 500
    assert result.messages().count("SIP/2.0 183") > 3  # T1, 2*T1, 4*T1, ...
    assert "SIP/2.0 200" not in result.messages()  # the held 2xx never went out
    callee = far.wait()
    assert callee.ok, callee.describe()  # answered, then got its BYE
    wait_until(
        lambda: harness.call(lambda: len(harness.switch.channels)) == 0, 5, what="no channels"
    )
    assert "Traceback" not in caplog.text
