"""Protocol edges with sipp on one or both sides of the switch."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from softswitch.channel import Channel
from softswitch.sip.auth import authorization, choose_challenge
from softswitch.sip.options import ALLOWED, SUPPORTED
from tests.e2e.phones import registered
from tests.peers.process import wait_until
from tests.peers.sipp import Sipp, run_sipp, start_sipp
from tests.sip.raw import RawSocket, raw_request
from tests.switch_harness import ip_trunk

pytestmark = pytest.mark.peers

NUMBER = "5550001"  # an outside number: goes to the trunk


def uas(tmp_path, port: int, scenario: str, **options) -> Sipp:
    return start_sipp(tmp_path, scenario, port=port, calls=1, timeout=20, **options)


def test_cancel_while_ringing_reaches_the_far_end(tmp_path, ports, switch_factory):
    far = uas(tmp_path, ports.port(), "uas_ring_forever.xml")
    harness = switch_factory(trunks=[ip_trunk("carrier", far.port)])
    caller = run_sipp(
        tmp_path,
        "uac_cancel.xml",
        remote=harness.config.sip.listen,
        service=NUMBER,
        auth=("101", "pw101"),
        port=ports.port(),
        duration_ms=500,
        timeout=15,
    )
    assert caller.ok, caller.describe()
    callee = far.wait()
    assert callee.ok, callee.describe()  # it saw the CANCEL and answered 487
    assert harness.call(lambda: len(harness.switch.channels)) == 0


def test_busy_far_end_gives_486_to_the_caller(tmp_path, ports, switch_factory, phone_factory):
    far = uas(tmp_path, ports.port(), "uas_busy.xml")
    harness = switch_factory(trunks=[ip_trunk("carrier", far.port)])
    caller = registered(phone_factory, harness, "101")
    caller.dial(f"sip:{NUMBER}@{harness.config.sip.listen}")
    closed = caller.wait_call_closed()
    assert closed.reason.startswith("486"), closed
    assert far.wait().ok


def test_invite_retransmission_is_one_call(tmp_path, ports, switch_factory, phone_factory):
    uac_port = ports.port()
    # calls from the sipp address count as coming from a trunk: no digest challenge
    harness = switch_factory(trunks=[ip_trunk("peer", uac_port)])
    callee = registered(phone_factory, harness, "102")
    result = run_sipp(
        tmp_path,
        "uac_retransmit.xml",
        remote=harness.config.sip.listen,
        service="102",
        port=uac_port,
        duration_ms=1000,
        timeout=15,
    )
    assert result.ok, result.describe()
    callee.wait_call_established()
    callee.wait_call_closed()
    assert len([e for e in callee.events_of("answering")]) == 1


def test_trunk_that_challenges_invite_with_401(tmp_path, ports, switch_factory, phone_factory):
    far = uas(
        tmp_path,
        ports.port(),
        "uas_auth_challenge.xml",
        keys={"authuser": "trunkuser", "authpass": "s3cret"},
    )
    harness = switch_factory(
        trunks=[ip_trunk("carrier", far.port, username="trunkuser", password="s3cret")]
    )
    caller = registered(phone_factory, harness, "101")
    caller.dial(f"sip:{NUMBER}@{harness.config.sip.listen}")
    caller.wait_call_established()
    caller.hangup()
    caller.wait_call_closed()
    result = far.wait()
    assert result.ok, result.describe()


def test_malformed_message_amid_a_valid_flow(tmp_path, ports, switch_factory):
    harness = switch_factory()
    result = run_sipp(
        tmp_path,
        "uac_malformed.xml",
        remote=harness.config.sip.listen,
        port=ports.port(),
        timeout=10,
    )
    assert result.ok, result.describe()


def test_unauthenticated_invite_never_reaches_the_trunk(tmp_path, ports, switch_factory):
    far = uas(tmp_path, ports.port(), "uas_answer.xml")
    harness = switch_factory(trunks=[ip_trunk("carrier", far.port)])
    # no credentials: sipp cannot answer the challenge, the call fails at the switch
    result = run_sipp(
        tmp_path,
        "uac_auth_call.xml",
        remote=harness.config.sip.listen,
        service=NUMBER,
        port=ports.port(),
        timeout=8,
    )
    assert not result.ok
    # wrong credentials: challenged again (then banned after repeated failures)
    wrong = run_sipp(
        tmp_path,
        "uac_auth_call.xml",
        remote=harness.config.sip.listen,
        service=NUMBER,
        auth=("101", "guess"),
        port=ports.port(),
        timeout=8,
    )
    assert not wrong.ok
    callee = far.stop()
    assert callee.successful == 0 and "INVITE" not in (callee.messages() or "")


def test_tcp_caller(tmp_path, ports, switch_factory):
    far = uas(tmp_path, ports.port(), "uas_answer.xml")
    harness = switch_factory(trunks=[ip_trunk("carrier", far.port)])
    result = run_sipp(
        tmp_path,
        "uac_auth_call.xml",
        remote=harness.config.sip.listen,
        service=NUMBER,
        auth=("101", "pw101"),
        port=ports.port(),
        transport="t1",
        duration_ms=500,
        timeout=15,
    )
    assert result.ok, result.describe()
    assert far.wait().ok


def test_ring_timeout_cancels_the_far_end_and_tells_the_caller(
    tmp_path, ports, switch_factory, phone_factory
):
    far = uas(tmp_path, ports.port(), "uas_ring_forever.xml")
    harness = switch_factory(trunks=[ip_trunk("carrier", far.port)], sip={"ring_timeout": 2})
    caller = registered(phone_factory, harness, "101")
    caller.dial(f"sip:{NUMBER}@{harness.config.sip.listen}")
    # ringing is relayed (after a 100 Trying for each INVITE, the challenged one included)
    wait_until(
        lambda: any(e.fields["code"] == "180" for e in caller.events_of("progress")),
        5,
        what="180 relayed",
    )
    closed = caller.wait_call_closed(timeout=10)
    assert closed.reason.startswith("408"), closed
    assert far.wait().ok  # the far end got a CANCEL


def test_late_offer_invite_gets_our_offer_and_the_ack_answers(
    tmp_path, ports, switch_factory, phone_factory
):
    uac_port, media_port = ports.port(), ports.port()
    harness = switch_factory(trunks=[ip_trunk("peer", uac_port)])
    callee = registered(phone_factory, harness, "102")
    caller = start_sipp(
        tmp_path,
        str(Path(__file__).parent / "scenarios" / "uac_late_offer.xml"),
        remote=harness.config.sip.listen,
        service="102",
        port=uac_port,
        media_port=media_port,
        duration_ms=3000,
        timeout=15,
    )
    callee.wait_call_established()

    def inbound_media():
        return harness.call(
            lambda: [
                (ch.media.address, ch.media.port)
                for ch in harness.switch.channels
                if ch.direction == "inbound" and ch.media
            ]
        )

    assert wait_until(inbound_media, 5, what="answer taken from the ACK") == [
        ("127.0.0.1", media_port)
    ]
    result = caller.wait()
    assert result.ok, result.describe()
    callee.wait_call_closed()


def test_ipv6_media_offer_to_an_ipv4_switch_gets_488(
    tmp_path, ports, switch_factory, phone_factory, caplog
):
    """Refused at negotiation (we do not answer in IPv4 for an IPv6 offer): no per-tick errors."""
    uac_port, media_port = ports.port(), ports.port()
    harness = switch_factory(trunks=[ip_trunk("peer", uac_port)])
    registered(phone_factory, harness, "102")  # reachable: the refusal is about the media address
    caller = run_sipp(
        tmp_path,
        str(Path(__file__).parent / "scenarios" / "uac_ipv6_media.xml"),
        remote=harness.config.sip.listen,
        service="102",
        port=uac_port,
        media_port=media_port,
        timeout=15,
    )
    assert caller.ok, caller.describe()  # it got the 488 (anything else fails the scenario)
    assert harness.call(lambda: len(harness.switch.channels)) == 0
    assert "socket family mismatch" not in caplog.text


def test_far_end_sending_no_rtp_is_hung_up_on_both_legs_after_the_rtp_timeout(
    tmp_path, ports, switch_factory, phone_factory, caplog
):
    # sipp answers but sends no RTP (no -rtp_echo): a far end that died without a BYE
    far = uas(tmp_path, ports.port(), "uas_answer.xml")
    harness = switch_factory(trunks=[ip_trunk("carrier", far.port)], rtp={"timeout": 2})
    caller = registered(phone_factory, harness, "101")
    with caplog.at_level(logging.INFO, logger="softswitch"):
        caller.dial(f"sip:{NUMBER}@{harness.config.sip.listen}")
        caller.wait_call_established()
        started = time.monotonic()
        closed = caller.wait_call_closed(timeout=15)
        took = time.monotonic() - started
        result = far.wait()  # uas_answer ends when it got our BYE and answered it
    assert closed.reason is not None and "audio error" not in closed.reason, closed  # our BYE
    assert result.ok, result.describe()
    assert 1.5 <= took <= 6, took  # the 2 s timeout, checked once a second
    causes = [r.getMessage() for r in caplog.records if "cause='rtp timeout'" in r.getMessage()]
    assert len(causes) == 2, causes  # both channels hung up with the cause
    assert any("no RTP for" in r.getMessage() for r in caplog.records)
    assert harness.call(lambda: len(harness.switch.channels)) == 0


def test_ipv6_media_in_the_far_end_s_answer_ends_the_call_cleanly(
    tmp_path, ports, switch_factory, phone_factory
):
    far = uas(
        tmp_path, ports.port(), str(Path(__file__).parent / "scenarios" / "uas_ipv6_answer.xml")
    )
    harness = switch_factory(trunks=[ip_trunk("carrier", far.port)])
    caller = registered(phone_factory, harness, "101")
    caller.dial(f"sip:{NUMBER}@{harness.config.sip.listen}")
    closed = caller.wait_call_closed()
    assert closed.reason is not None and closed.reason.startswith("488"), closed
    result = far.wait()  # it got the ACK and then our BYE
    assert result.ok, result.describe()
    assert harness.call(lambda: len(harness.switch.channels)) == 0


# -- answers that used to be 200 or silence: option tags, handlers that raise ----------


def test_required_extension_we_lack_is_420_never_200(ports, switch_factory):
    harness = switch_factory()
    raw = RawSocket(ports.port(), harness.config.sip_host_port[1])
    try:
        # before the challenge too: nothing about the caller is needed to refuse it
        raw.send(raw_request("INVITE", raw, "Require: foo, bar", "Proxy-Require: baz"))
        answer = raw.final()
        assert answer.status == 420, answer
        assert answer.headers.get_all("Unsupported") == ["foo", "bar"]
        assert "INVITE" in answer.headers.get_all("Allow")
        raw.send(raw_request("OPTIONS", raw, "Require: foo", call_id="raw-2"))
        assert raw.final("OPTIONS").status == 420
        raw.send(raw_request("OPTIONS", raw, call_id="raw-3"))
        options = raw.final("OPTIONS")
        assert options.status == 200
        assert options.headers.get_all("Allow") == list(ALLOWED)
        assert options.headers.get_all("Supported") == sorted(SUPPORTED)
        assert harness.call(lambda: len(harness.switch.channels)) == 0
    finally:
        raw.close()


def test_handler_that_raises_answers_500_with_a_logged_call_id(ports, switch_factory, caplog):
    port = ports.port()
    # calls from the raw socket's address come from a trunk: the INVITE task runs at once
    harness = switch_factory(trunks=[ip_trunk("peer", port)])
    raw = RawSocket(port, harness.config.sip_host_port[1])
    try:
        # a real fault under the handlers: the database is gone
        harness.call(harness.switch.store.close)
        with caplog.at_level(logging.INFO, logger="softswitch"):
            invite = raw_request("INVITE", raw, call_id="dbgone-invite")
            raw.send(invite)
            answer = raw.final()
            assert answer.status == 500 and answer.to_addr.tag, answer
            raw.send(invite)  # retransmitted: the same answer, the handler does not run again
            assert raw.final().status == 500
            # a REGISTER's handler is synchronous: answered the same way, once the
            # correct digest answer sends it to the database for the extension's HA1
            raw.send(raw_request("REGISTER", raw, call_id="dbgone-register"))
            challenged = raw.final("REGISTER")
            assert challenged.status == 401
            challenge = choose_challenge(challenged.headers.get_all("WWW-Authenticate"))
            uri = f"sip:102@127.0.0.1:{raw.switch_port}"
            credentials = authorization(
                challenge, method="REGISTER", uri=uri, username="102", password="pw102",
                nc=1, cnonce="c0ffee",
            )  # fmt: skip
            raw.send(
                raw_request(
                    "REGISTER", raw, f"Authorization: {credentials}", call_id="dbgone-register"
                ).replace(b"z9hG4bKdbgone-register", b"z9hG4bKdbgone-register-2")
            )
            assert raw.final("REGISTER").status == 500
        failures = [r for r in caplog.records if "handler failed" in r.getMessage()]
        # one record each, with the Call-ID and the traceback: not one per retransmission
        assert [r.getMessage().split()[1] for r in failures] == [
            "call_id=dbgone-invite",
            "call_id=dbgone-register",
        ]
        assert all(r.exc_info is not None for r in failures)
        assert "task failed" not in caplog.text  # no dead task: it answered
        assert harness.call(lambda: len(harness.switch.channels)) == 0
    finally:
        raw.close()


def test_outgoing_leg_that_breaks_answers_the_caller_500(
    tmp_path, ports, switch_factory, phone_factory, monkeypatch, caplog
):
    far = uas(tmp_path, ports.port(), "uas_answer.xml")
    harness = switch_factory(trunks=[ip_trunk("carrier", far.port)])
    caller = registered(phone_factory, harness, "101")

    def broken(self, offer_body, answer_body):  # a bug taking the far end's answer
        raise RuntimeError("answer handling bug")

    # injected: the outbound leg's 200 OK is where the bug bites, in the leg's own task
    monkeypatch.setattr(Channel, "take_answer", broken)
    with caplog.at_level(logging.INFO, logger="softswitch"):
        caller.dial(f"sip:{NUMBER}@{harness.config.sip.listen}")
        closed = caller.wait_call_closed()
        assert closed.reason is not None and closed.reason.startswith("500"), closed
        assert far.wait().ok  # the far end's answered call got its BYE
    assert "answer handling bug" in caplog.text and "task failed" not in caplog.text
    wait_until(lambda: harness.call(lambda: len(harness.switch.channels)) == 0, 5)
