"""SRTP with SDES keys (RFC 4568) between real softphones (baresip's srtp module) through the
switch: each leg keyed on its own, audio decrypted for the bridge, plain and SRTP legs mixed.

These run over UDP with ``srtp_over_plain_sip = true``; SRTP over TLS signaling (no such
setting) is in test_tls_calls.py.
"""

from __future__ import annotations

import os
import socket
import time

import pytest

from media.rtp import HEADER
from tests.e2e.talk import assert_heard
from tests.peers.baresip import BaresipAccount

pytestmark = pytest.mark.peers

OVER_PLAIN_SIP = {"srtp_over_plain_sip": True}


def register_phone(phone_factory, switch, number, tone_hz, mediaenc=None):
    account = BaresipAccount(
        number,
        f"pw{number}",
        registrar=f"127.0.0.1:{switch.config.sip_host_port[1]}",
        mediaenc=mediaenc,
    )
    phone = phone_factory(account, tone_hz=tone_hz)
    phone.wait_registered()
    return phone


def leg_security(harness):
    """Per channel: (SRTP suite or None, packets received, packets dropped by SRTP)."""

    def collect():
        return [
            (
                None if c.rtp.srtp is None else str(c.rtp.srtp.suite),
                c.rtp.packets_received,
                0 if c.rtp.srtp is None else c.rtp.srtp.rejected,
            )
            for c in harness.switch.channels
        ]

    return harness.call(collect)


def talk(harness, caller, callee, callee_number, during=None):
    """Caller dials, both talk for 3 s; returns what each leg of the switch saw."""
    caller.dial(f"sip:{callee_number}@127.0.0.1:{harness.config.sip_host_port[1]}")
    callee.wait_incoming()
    callee.wait_call_established()
    caller.wait_call_established()
    time.sleep(1)
    if during is not None:
        during()
    time.sleep(2)
    legs = leg_security(harness)
    caller.hangup()
    caller.wait_call_closed()
    callee.wait_call_closed()
    time.sleep(0.5)
    return legs


FORGED = 40  # per leg


def inject_forged_packets(harness):
    """From a third socket, loud audio as plain RTP and as SRTP with a made-up auth tag."""
    ports = harness.call(lambda: [c.rtp.local_port for c in harness.switch.channels])
    noise = bytes([0x80] * 160)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as attacker:
        for port in ports:
            for seq in range(FORGED):
                packet = HEADER.pack(0x80, 0, 30000 + seq, seq * 160, 0xBADC0DE) + noise
                if seq % 2:
                    packet += os.urandom(10)  # looks like an 80-bit tag
                attacker.sendto(packet, ("127.0.0.1", port))
                time.sleep(0.002)


def test_two_srtp_phones_hear_each_other(switch_factory, phone_factory):
    harness = switch_factory(rtp={"srtp": "mandatory", **OVER_PLAIN_SIP})
    caller = register_phone(phone_factory, harness, "101", 440.0, mediaenc="srtp-mand")
    callee = register_phone(phone_factory, harness, "102", 1000.0, mediaenc="srtp-mand")
    legs = talk(harness, caller, callee, "102", during=lambda: inject_forged_packets(harness))
    assert len(legs) == 2
    for suite, received, rejected in legs:
        assert suite is not None  # both legs encrypted, each with its own keys
        # every forged packet dropped and counted; the phones' audio still played
        assert received > 100 and rejected == FORGED
    assert_heard(callee, 440.0)
    assert_heard(caller, 1000.0)


@pytest.mark.parametrize(
    ("srtp_first", "mediaenc"),
    # The switch's "optional" offer is best-effort SRTP (RTP/AVP with crypto lines):
    # a phone set to srtp-mand refuses it, one set to srtp takes it up.
    [(True, "srtp-mand"), (False, "srtp")],
)
def test_plain_phone_and_srtp_phone_bridge(switch_factory, phone_factory, srtp_first, mediaenc):
    harness = switch_factory(rtp={"srtp": "optional", **OVER_PLAIN_SIP})
    secure = register_phone(phone_factory, harness, "101", 440.0, mediaenc=mediaenc)
    plain = register_phone(phone_factory, harness, "102", 1000.0)
    caller, callee, number = (secure, plain, "102") if srtp_first else (plain, secure, "101")
    legs = talk(harness, caller, callee, number)
    assert sorted(suite is not None for suite, _, _ in legs) == [False, True]
    assert all(received > 100 and rejected == 0 for _, received, rejected in legs)
    assert_heard(plain, 440.0)
    assert_heard(secure, 1000.0)


def test_mandatory_srtp_refuses_a_plain_offer_with_488(switch_factory, phone_factory):
    harness = switch_factory(rtp={"srtp": "mandatory", **OVER_PLAIN_SIP})
    caller = register_phone(phone_factory, harness, "101", 440.0)
    register_phone(phone_factory, harness, "102", 1000.0, mediaenc="srtp-mand")
    caller.dial(f"sip:102@127.0.0.1:{harness.config.sip_host_port[1]}")
    closed = caller.wait_call_closed()
    assert "488" in (closed.reason or "")


def test_mandatory_srtp_keys_never_cross_plain_sip(switch_factory, phone_factory):
    harness = switch_factory(rtp={"srtp": "mandatory"})  # no srtp_over_plain_sip
    caller = register_phone(phone_factory, harness, "101", 440.0, mediaenc="srtp-mand")
    register_phone(phone_factory, harness, "102", 1000.0, mediaenc="srtp-mand")
    caller.dial(f"sip:102@127.0.0.1:{harness.config.sip_host_port[1]}")
    closed = caller.wait_call_closed()
    assert "488" in (closed.reason or "")
