"""Replaces (RFC 3891) against the running switch: two baresip phones in a call, then a
third party's INVITE naming one phone's dialog with the switch (an attended transfer's
last step, played by sipp or a raw socket)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.peers.audio import dominant_frequency, read_wav
from tests.peers.baresip import BaresipAccount
from tests.peers.process import wait_until
from tests.peers.sipp import Sipp, start_sipp
from tests.sip.raw import RawSocket, raw_request
from tests.switch_harness import ip_trunk

pytestmark = pytest.mark.peers

SCENARIO = str(Path(__file__).parent / "scenarios" / "uac_replaces.xml")
EXTENSIONS = {"101": "pw101", "102": "pw102", "103": "pw103"}


def phones(harness, phone_factory, answermode: str = "auto"):
    """101 (440 Hz) and 102 (1000 Hz, answering as told), registered."""
    port = harness.config.sip_host_port[1]
    made = []
    for number, tone, mode in (("101", 440.0, "auto"), ("102", 1000.0, answermode)):
        account = BaresipAccount(
            number, f"pw{number}", registrar=f"127.0.0.1:{port}", answermode=mode
        )
        phone = phone_factory(account, tone_hz=tone)
        phone.wait_registered()
        made.append(phone)
    return made


def in_call(harness, phone_factory):
    """101 calls 102 through the switch; both answer."""
    caller, callee = phones(harness, phone_factory)
    caller.dial(f"sip:102@127.0.0.1:{harness.config.sip_host_port[1]}")
    callee.wait_call_established()
    caller.wait_call_established()
    return caller, callee


def transferee(tmp_path, ports, harness, replaces: str) -> Sipp:
    """sipp as 103 (authenticated) sending INVITE+Replaces; it echoes what it hears."""
    return start_sipp(
        tmp_path,
        SCENARIO,
        remote=harness.config.sip.listen,
        service="101",
        auth=("103", "pw103"),
        keys={"replaces": replaces, "caller": "103"},
        port=ports.port(),
        media_port=ports.port(),
        rtp_echo=True,
        duration_ms=4000,
        timeout=20,
    )


def echoed(harness) -> int:
    """RTP packets the switch received from the replacing caller (sipp's echo)."""
    return harness.call(
        lambda: sum(
            ch.rtp.stats["packets_received"]
            for ch in harness.switch.channels
            if ch.endpoint.name == "103"
        )
    )


def heard_at_the_end(phone) -> float:
    """The pitch a phone heard over the last seconds of its call (before sipp's BYE)."""
    samples, rate = read_wav(phone.last_recording("dec"))
    return dominant_frequency(samples[-int(2.5 * rate) : -int(0.5 * rate)], rate)


def dialog_with(harness, number: str) -> tuple[str, str, str]:
    """(Call-ID, our tag, the phone's tag) of the switch's dialog with extension ``number``."""

    def find():
        for channel in harness.switch.channels:
            dialog = channel.session.dialog
            if channel.endpoint.name == number and dialog is not None:
                return dialog.id
        return None

    found = harness.call(find)
    assert found is not None
    return found


def replaces_value(dialog: tuple[str, str, str], *flags: str) -> str:
    # to-tag is the tag of the receiver (the switch), from-tag the other party's (RFC 3891 3)
    call_id, ours, theirs = dialog
    return ";".join([f"{call_id};to-tag={ours};from-tag={theirs}", *flags])


def bridged_pairs(harness) -> set[tuple[str, str]]:
    def pairs():
        return {
            (ch.endpoint.name, ch.bridged.endpoint.name)
            for ch in harness.switch.channels
            if ch.bridged is not None
        }

    return harness.call(pairs)


def sipp_talks_then_hangs_up(harness, caller, sipp: Sipp) -> None:
    """sipp, bridged with 101, echoes what it hears, then hangs up: its run went well,
    its BYE ended the call for 101, who heard its own tone back; no channel is left."""
    wait_until(lambda: echoed(harness) > 50, 5, what="sipp's echo reaching the switch")
    result = sipp.wait()
    assert result.ok, result.describe()
    assert caller.wait_call_closed(timeout=10).reason
    time.sleep(0.5)
    assert abs(heard_at_the_end(caller) - 440.0) < 15
    wait_until(lambda: harness.call(lambda: len(harness.switch.channels)) == 0, 5)


def test_replacing_invite_takes_the_phone_s_place(tmp_path, ports, switch_factory, phone_factory):
    harness = switch_factory(extensions=EXTENSIONS)
    caller, callee = in_call(harness, phone_factory)
    target = dialog_with(harness, "102")
    # 103 (sipp, authenticated) replaces the switch's leg to 102: 101 now talks to sipp,
    # which echoes what it hears (-rtp_echo), so 101 hears its own 440 Hz back
    sipp = transferee(tmp_path, ports, harness, replaces_value(target))
    closed = callee.wait_call_closed(timeout=10)  # the replaced phone got a BYE
    assert closed.reason, closed
    wait_until(
        lambda: bridged_pairs(harness) == {("101", "103"), ("103", "101")},
        5,
        what="101 bridged to the replacing caller",
    )
    assert not caller.events_of("call_end")  # 101 stays in its call
    sipp_talks_then_hangs_up(harness, caller, sipp)


def test_replacing_a_ringing_leg_picks_the_call_up(tmp_path, ports, switch_factory, phone_factory):
    harness = switch_factory(extensions=EXTENSIONS)
    caller, callee = phones(harness, phone_factory, answermode="manual")
    caller.dial(f"sip:102@127.0.0.1:{harness.config.sip_host_port[1]}")
    callee.wait_incoming()  # 102 rings and does not answer

    def early_dialog():
        for channel in harness.switch.channels:
            invite = channel.session
            if channel.endpoint.name == "102" and getattr(invite, "early_tags", None):
                tag = next(iter(invite.early_tags))
                return (invite.request.call_id, invite.request.from_addr.tag, tag)
        return None

    target = wait_until(lambda: harness.call(early_dialog), 5, what="102's 180")
    # 103 picks up the call ringing at 102 (early-only: only while it still rings)
    sipp = transferee(tmp_path, ports, harness, replaces_value(target, "early-only"))
    caller.wait_call_established()  # 101's call is answered, by 103
    assert callee.wait_call_closed(timeout=10)  # 102 stopped ringing: CANCEL
    wait_until(
        lambda: bridged_pairs(harness) == {("101", "103"), ("103", "101")},
        5,
        what="101 bridged to the one who picked up",
    )
    sipp_talks_then_hangs_up(harness, caller, sipp)


def test_replaces_refusals_leave_the_call_alone(ports, switch_factory, phone_factory):
    trunk_port = ports.port()
    # the raw socket at trunk_port is a trusted trunk: the answers below come after the
    # caller is known, as for any INVITE (an unknown one is challenged: the last case)
    harness = switch_factory(extensions=EXTENSIONS, trunks=[ip_trunk("peer", trunk_port)])
    caller, callee = in_call(harness, phone_factory)
    target = dialog_with(harness, "102")
    live = replaces_value(target)
    switch_port = harness.config.sip_host_port[1]
    trunk = RawSocket(trunk_port, switch_port)
    stranger = RawSocket(ports.port(), switch_port)
    try:
        cases = [
            ("two", [f"Replaces: {live}", f"Replaces: {live}"], 400),
            ("list", [f"Replaces: {live}, {live}"], 400),
            ("notags", [f"Replaces: {target[0]}"], 481),  # names no dialog there can be
            ("nodialog", [f"Replaces: {replaces_value(('nope', target[1], target[2]))}"], 481),
            ("swapped", [f"Replaces: {replaces_value((target[0], target[2], target[1]))}"], 481),
            ("early", [f"Replaces: {replaces_value(target, 'early-only')}"], 486),
        ]
        for call_id, headers, status in cases:
            trunk.send(raw_request("INVITE", trunk, *headers, "Require: replaces", call_id=call_id))
            answer = trunk.final(call_id=call_id)
            assert answer.status == status, (call_id, answer)
        stranger.send(raw_request("INVITE", stranger, f"Replaces: {live}", call_id="stranger"))
        assert stranger.final(call_id="stranger").status == 401
        # the call between the phones goes on untouched
        assert bridged_pairs(harness) == {("101", "102"), ("102", "101")}
        assert harness.call(lambda: len(harness.switch.channels)) == 2
        assert not callee.events_of("call_end") and not caller.events_of("call_end")
    finally:
        trunk.close()
        stranger.close()
    caller.hangup()
    callee.wait_call_closed()


def corpus_invite(sock: RawSocket, call_id: str, *headers: str) -> bytes:
    """An INVITE shaped like pjsip's sendto tests: a Request-URI and To without a user,
    Supported: replaces, the extra headers after Content-Length."""
    sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    sdp += "m=audio 4000 RTP/AVP 0\r\n"
    target = f"sip:127.0.0.1:{sock.switch_port}"
    lines = [
        f"INVITE {target} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{sock.port};rport;branch=z9hG4bK{call_id}",
        "Max-Forwards: 70",
        "From: <sip:caller@pjsip.org>;tag=0.123",
        f"To: <{target}>",
        f"Contact: <sip:127.0.0.1:{sock.port};transport=udp>",
        f"Call-ID: {call_id}@pjsip.org",
        "CSeq: 1 INVITE",
        "Allow: PRACK, INVITE, ACK, BYE, CANCEL, UPDATE, REFER",
        "Supported: replaces, 100rel, norefersub",
        f"Content-Length: {len(sdp)}",
        *headers,
        "Content-Type: application/sdp",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + sdp).encode()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (["Replaces: abcd;from_tag=1", "Replaces: efgh;from_tag=2"], 400),
        (["Replaces: abcd;from_tag=1"], 481),
        (["Require: xxx-my-extension"], 420),
    ],
)
def test_extension_cases_of_a_public_corpus(ports, switch_factory, headers, status):
    """What pjsip's own sendto tests expect of these INVITEs (they used to be a 404, or
    a new call, whatever the Replaces said)."""
    port = ports.port()
    harness = switch_factory(extensions=EXTENSIONS, trunks=[ip_trunk("peer", port)])
    sock = RawSocket(port, harness.config.sip_host_port[1])
    try:
        sock.send(corpus_invite(sock, "corpus", *headers))
        answer = sock.final(call_id="corpus@pjsip.org")
        assert answer.status == status, answer
        if status == 420:
            assert answer.headers.get_all("Unsupported") == ["xxx-my-extension"]
    finally:
        sock.close()
