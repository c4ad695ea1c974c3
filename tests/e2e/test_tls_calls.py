"""Phones over SIP/TLS: baresip registers over TLS, trusting the switch's self-signed
certificate (made on the switch's first start), and calls go to it over its connection."""

from __future__ import annotations

import socket
import time

import pytest

from tests.e2e.talk import assert_heard
from tests.peers.baresip import BaresipAccount
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers


def tls_phone(phone_factory, harness, number, tone_hz, mediaenc=None):
    tls_port = harness.call(lambda: harness.switch.ua.transport.tls_port)
    account = BaresipAccount(
        number,
        f"pw{number}",
        registrar=f"127.0.0.1:{tls_port}",
        transport="tls",
        mediaenc=mediaenc,
    )
    certificate, _ = harness.config.tls_files
    phone = phone_factory(account, tone_hz=tone_hz, extra_config={"sip_cafile": str(certificate)})
    registered = phone.wait_registered()
    assert registered.fields["transport"] == "TLS"
    return phone


def test_two_phones_over_tls_call_each_other_with_audio_both_ways(switch_factory, phone_factory):
    harness = switch_factory(sip={"tls_listen": "127.0.0.1:0"})
    tls_port = harness.call(lambda: harness.switch.ua.transport.tls_port)
    caller = tls_phone(phone_factory, harness, "101", 440.0)
    callee = tls_phone(phone_factory, harness, "102", 1000.0)
    registrar = harness.switch.registrar
    bindings = harness.call(lambda: registrar.contacts("102"))
    assert [b.transport for b in bindings] == ["TLS"]

    caller.dial(f"sip:102@127.0.0.1:{tls_port}")  # baresip adds ;transport=tls
    callee.wait_incoming()
    callee.wait_call_established()
    caller.wait_call_established()
    peers = harness.call(lambda: sorted(ch.session.transport for ch in harness.switch.channels))
    assert peers == ["TLS", "TLS"]
    time.sleep(3)
    caller.hangup()
    caller.wait_call_closed()
    assert callee.wait_call_closed().reason  # the BYE reached 102 over its TLS connection
    time.sleep(0.5)
    assert_heard(callee, 440.0)
    assert_heard(caller, 1000.0)


def test_plain_text_on_the_tls_port_is_closed_and_phones_still_register(
    switch_factory, phone_factory
):
    harness = switch_factory(sip={"tls_listen": "127.0.0.1:0"})
    transport = harness.switch.ua.transport
    tls_port = harness.call(lambda: transport.tls_port)
    with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as plain:
        plain.sendall(
            b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKp\r\n"
            b"From: <sip:p@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: p\r\n"
            b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        received = b""
        while chunk := plain.recv(4096):  # until the switch closes it
            received += chunk
    assert b"SIP/2.0" not in received  # a TLS alert at most, never a SIP answer
    wait_until(lambda: harness.call(lambda: transport.failed_handshakes) == 1, 5, what="logged")
    phone = tls_phone(phone_factory, harness, "101", 440.0)
    assert phone.aor
    assert harness.call(lambda: transport.failed_handshakes) == 1
    assert harness.call(harness.switch.health)["status"] == "ok"


def test_srtp_mandatory_phones_over_tls_hear_each_other(switch_factory, phone_factory):
    # The set-up for phones outside the office: SIP over TLS carries the SDES keys,
    # so SRTP needs no srtp_over_plain_sip; every leg is encrypted with its own keys.
    harness = switch_factory(sip={"tls_listen": "127.0.0.1:0"}, rtp={"srtp": "mandatory"})
    tls_port = harness.call(lambda: harness.switch.ua.transport.tls_port)
    caller = tls_phone(phone_factory, harness, "101", 440.0, mediaenc="srtp-mand")
    callee = tls_phone(phone_factory, harness, "102", 1000.0, mediaenc="srtp-mand")

    caller.dial(f"sip:102@127.0.0.1:{tls_port}")
    callee.wait_incoming()
    callee.wait_call_established()
    caller.wait_call_established()
    time.sleep(3)

    def legs():
        return sorted(
            (
                ch.session.transport,
                None if ch.rtp.srtp is None else str(ch.rtp.srtp.suite),
                ch.rtp.packets_received,
                0 if ch.rtp.srtp is None else ch.rtp.srtp.rejected,
            )
            for ch in harness.switch.channels
        )

    seen = harness.call(legs)
    assert len(seen) == 2
    for transport, suite, received, rejected in seen:
        assert transport == "TLS"
        assert suite is not None and suite.startswith("AES_CM_128_HMAC_SHA1")
        assert received > 50 and rejected == 0
    caller.hangup()
    caller.wait_call_closed()
    callee.wait_call_closed()
    time.sleep(0.5)
    assert_heard(callee, 440.0)
    assert_heard(caller, 1000.0)
