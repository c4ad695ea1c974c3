"""Hold and transfer from real phones: baresip's in-call /hold, /resume and /transfer
against the running switch (music on hold; REFER, RFC 3515)."""

from __future__ import annotations

import time
from urllib.parse import quote

import numpy as np
import pytest

from media.tones import HOLD_MUSIC_HZ
from tests.peers.audio import band_energy_ratio, dominant_frequency, read_wav
from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.process import wait_until
from tests.sip.raw import RawSocket

pytestmark = pytest.mark.peers

EXTENSIONS = {"101": "pw101", "102": "pw102", "103": "pw103"}
TONES = {"101": 440.0, "102": 1000.0, "103": 1250.0}


@pytest.fixture
def server(server_factory):
    return server_factory(extensions=EXTENSIONS)


def phone(phone_factory, server, number: str, sip_trace: bool = False) -> Baresip:
    port = server.config.sip_host_port[1]
    made = phone_factory(
        BaresipAccount(number, EXTENSIONS[number], registrar=f"127.0.0.1:{port}"),
        tone_hz=TONES[number],
        seconds=60,
        sip_trace=sip_trace,
    )
    made.wait_registered()
    return made


def window(p: Baresip, since: float, start: float, end: float) -> np.ndarray:
    """What ``p`` heard between ``start`` and ``end`` (monotonic clock), its call having
    been established at ``since``."""
    samples, rate = read_wav(p.last_recording("dec"))
    return samples[int((start - since) * rate) : int((end - since) * rate)]


def hears(audio: np.ndarray, tone: float) -> bool:
    return abs(dominant_frequency(audio) - tone) < 15 and band_energy_ratio(audio, tone) > 0.5


def test_hold_plays_the_music_on_hold_to_the_other_party_and_resume_restores_both_ways(
    server, phone_factory
) -> None:
    port = server.config.sip_host_port[1]
    caller, callee = phone(phone_factory, server, "101"), phone(phone_factory, server, "102")
    caller.dial(f"sip:102@127.0.0.1:{port}")
    callee.wait_call_established()
    caller.wait_call_established()
    since = time.monotonic()
    time.sleep(2.0)
    talking = time.monotonic()

    (leg,) = [c for c in server.switch.channels if c.endpoint.name == "102"]
    callee.command("/hold")
    time.sleep(1.0)
    sent_on_hold = leg.rtp.packets_sent
    time.sleep(3.0)
    assert leg.rtp.packets_sent == sent_on_hold  # the holding phone gets nothing (recvonly)
    held = time.monotonic()
    callee.command("/resume")
    time.sleep(4.0)
    resumed = time.monotonic()
    # baresip stops its recording of what it hears at /hold: count what the switch sends
    assert leg.rtp.packets_sent - sent_on_hold > 100
    caller.hangup()
    caller.wait_call_closed()
    callee.wait_call_closed()
    time.sleep(0.5)

    assert hears(window(caller, since, talking - 1.5, talking), TONES["102"])
    # the held party hears the music, never silence (1 s for the re-INVITE to land)
    music = window(caller, since, talking + 1.0, held)
    assert hears(music, HOLD_MUSIC_HZ), dominant_frequency(music)
    quarters = np.array_split(music, 6)
    assert all(np.sqrt(np.mean(q.astype(np.float64) ** 2)) > 500 for q in quarters)
    # resumed: both ways again
    assert hears(window(caller, since, held + 1.5, resumed), TONES["102"])
    assert hears(window(callee, since, 0.5, talking), TONES["101"])


def test_blind_transfer_from_a_phone_connects_the_other_party_to_the_target(
    server, phone_factory
) -> None:
    port = server.config.sip_host_port[1]
    caller, transferor, target = (phone(phone_factory, server, n) for n in ("101", "102", "103"))
    caller.dial(f"sip:102@127.0.0.1:{port}")
    transferor.wait_call_established()
    caller.wait_call_established()
    time.sleep(1.0)

    transferor.command(f"/transfer sip:103@127.0.0.1:{port}")
    target.wait_call_established()
    target_since = time.monotonic()
    # released once the target answered (baresip itself hangs up on the NOTIFY's 200,
    # or our BYE comes)
    transferor.wait_call_closed()
    time.sleep(3.0)
    talked = time.monotonic()
    (kept,) = [c for c in server.switch.channels if c.endpoint.name == "101"]
    (new,) = [c for c in server.switch.channels if c.endpoint.name == "103"]
    assert kept.bridged is new
    sent_to_caller = kept.rtp.packets_sent
    target.hangup()
    target.wait_call_closed()
    assert caller.wait_call_closed().reason  # the transferee's call ends with the target's
    time.sleep(0.5)
    assert sent_to_caller > 100
    # 103 hears the transferee, who hears 103 (its recording is of the whole call)
    assert hears(window(target, target_since, target_since + 1.0, talked), TONES["101"])
    heard, rate = read_wav(caller.last_recording("dec"))
    assert hears(heard[-int(2.5 * rate) :], TONES["103"])
    log = transferor.log_text()
    assert "200 OK" in log or "transfer" in log.lower()


def test_a_refer_to_a_number_nobody_has_is_refused_in_the_notify_and_the_call_is_kept(
    server, phone_factory
) -> None:
    """The switch answers 202, NOTIFYs 100 then 404 (terminated) and keeps the call;
    baresip 1.0's menu then hangs the call up by itself (its BYE, not ours)."""
    port = server.config.sip_host_port[1]
    caller = phone(phone_factory, server, "101")
    transferor = phone(phone_factory, server, "102", sip_trace=True)
    caller.dial(f"sip:102@127.0.0.1:{port}")
    transferor.wait_call_established()
    caller.wait_call_established()
    time.sleep(1.0)
    transferor.command(f"/transfer sip:999@127.0.0.1:{port}")
    transferor.wait_call_closed()
    caller.wait_call_closed()
    trace = transferor.log_text().replace("\r", "\n")
    assert "SIP/2.0 202 Accepted" in trace
    notifies = trace.split("NOTIFY sip:")[1:]
    assert len(notifies) == 2, trace[-3000:]
    assert "Event: refer" in notifies[0] and "Subscription-State: active" in notifies[0]
    assert "message/sipfrag" in notifies[0] and "SIP/2.0 100 Trying" in notifies[0]
    assert "Subscription-State: terminated" in notifies[1]
    assert "SIP/2.0 404 Not Found" in notifies[1]
    # the call ended with the phone's own BYE after the failure: the switch sent none
    after = notifies[1]
    assert "\nBYE sip:127.0.0.1" in after  # baresip's request line towards the switch
    assert "\nBYE sip:102" not in trace


def dialogs_of(server, number: str) -> dict[str, tuple[str, str, str]]:
    """The switch's dialogs with extension ``number`` by direction: (Call-ID, our tag,
    the phone's tag)."""

    def find() -> dict[str, tuple[str, str, str]]:
        return {
            str(ch.direction): ch.session.dialog.id
            for ch in server.switch.channels
            if ch.endpoint.name == number and ch.session.dialog is not None
        }

    return server.call(find)


def bridged_pairs(server) -> set[tuple[str, str]]:
    def pairs() -> set[tuple[str, str]]:
        return {
            (ch.endpoint.name, ch.bridged.endpoint.name)
            for ch in server.switch.channels
            if ch.bridged is not None
        }

    return server.call(pairs)


def refer_with_replaces(
    raw_port: int,
    switch_port: int,
    dialog: tuple[str, str, str],
    replaced: tuple[str, str, str],
) -> int:
    """102's REFER in ``dialog`` (the switch's view: Call-ID, our tag, 102's tag) whose
    Refer-To names ``replaced`` in a Replaces; the status it gets."""
    call_id, ours, theirs = dialog
    b_call, b_ours, b_theirs = replaced
    replaces = quote(f"{b_call};to-tag={b_ours};from-tag={b_theirs}", safe="")
    raw = RawSocket(raw_port, switch_port)
    try:
        raw.send(
            (
                f"REFER sip:127.0.0.1:{switch_port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{raw.port};branch=z9hG4bKrefer1;rport\r\n"
                f"From: <sip:102@127.0.0.1>;tag={theirs}\r\n"
                f"To: <sip:101@127.0.0.1>;tag={ours}\r\n"
                f"Call-ID: {call_id}\r\nCSeq: 90000 REFER\r\nMax-Forwards: 70\r\n"
                f"Contact: <sip:102@127.0.0.1:{raw.port}>\r\n"
                f"Refer-To: <sip:103@127.0.0.1:{switch_port}?Replaces={replaces}>\r\n"
                f"Content-Length: 0\r\n\r\n"
            ).encode()
        )
        return raw.final("REFER", call_id).status
    finally:
        raw.close()


@pytest.mark.parametrize(
    ("named", "status"),
    [
        ("never-existed", "481 Call/Transaction Does Not Exist"),
        ("ended", "481 Call/Transaction Does Not Exist"),
        ("someone-elses", "403 Not Your Call"),
    ],
)
def test_a_refer_whose_replaces_names_no_call_of_its_own_is_refused_and_the_call_is_kept(
    server, phone_factory, ports, named: str, status: str
) -> None:
    """A phone only refers calls it has, so a Replaces naming no dialog is written by
    hand, in 102's real dialog, from a raw socket (the attended transfers a real phone
    makes, linphonec's, are in test_attended_transfer). It names a dialog that never
    existed, 102's consultation call with 103 after 103 hung up (481), or a call that is
    not 102's: 101's own leg (403; it used to hang up both 101 and 102)."""
    port = server.config.sip_host_port[1]
    caller = phone(phone_factory, server, "101")
    transferor = phone(phone_factory, server, "102", sip_trace=True)
    caller.dial(f"sip:102@127.0.0.1:{port}")
    transferor.wait_call_established()
    caller.wait_call_established()
    first = dialogs_of(server, "102")["outbound"]
    replaced = ("nobody", "x", "y")
    if named == "ended":
        target = phone(phone_factory, server, "103")
        transferor.dial(f"sip:103@127.0.0.1:{port}")
        target.wait_call_established()
        wait_until(lambda: "inbound" in dialogs_of(server, "102"), 5, what="the consultation")
        replaced = dialogs_of(server, "102")["inbound"]
        target.hangup()
        target.wait_call_closed()
        transferor.wait_call_closed()  # the consultation, not the call with 101
        wait_until(lambda: "inbound" not in dialogs_of(server, "102"), 5, what="it ended")
    if named == "someone-elses":
        replaced = dialogs_of(server, "101")["inbound"]
    assert refer_with_replaces(ports.port(), port, first, replaced) == 202

    def notifies() -> list[str]:
        return transferor.log_text().replace("\r\n", "\n").split("NOTIFY sip:")[1:]

    wait_until(lambda: len(notifies()) == 2, 5, what="two NOTIFYs")
    trying, final = notifies()
    assert "SIP/2.0 100 Trying" in trying
    assert "Subscription-State: terminated" in final
    assert f"SIP/2.0 {status}" in final
    time.sleep(0.5)
    assert bridged_pairs(server) == {("101", "102"), ("102", "101")}  # the call goes on
    assert not caller.events_of("call_end")
    assert len(transferor.events_of("call_end")) == (1 if named == "ended" else 0)
    caller.hangup()
    caller.wait_call_closed()
    transferor.wait_call_closed()


def test_a_transferor_hanging_up_at_once_still_hands_its_party_over(server, phone_factory) -> None:
    """Many phones hang up as soon as the REFER is accepted: the transferee, waiting
    for the target, is no longer tied to the transferor's call."""
    port = server.config.sip_host_port[1]
    caller, transferor = phone(phone_factory, server, "101"), phone(phone_factory, server, "102")
    target = phone_factory(
        BaresipAccount("103", "pw103", registrar=f"127.0.0.1:{port}", answermode="manual"),
        tone_hz=TONES["103"],
        seconds=60,
    )
    target.wait_registered()
    caller.dial(f"sip:102@127.0.0.1:{port}")
    transferor.wait_call_established()
    caller.wait_call_established()
    transferor.command(f"/transfer sip:103@127.0.0.1:{port}")
    target.wait_incoming()
    transferor.hangup()
    transferor.wait_call_closed()
    time.sleep(2.0)  # the transferee waits, hearing the music on hold
    assert not caller.events_of("call_end")
    target.accept()
    target.wait_call_established()
    wait_until(lambda: bridged_pairs(server) == {("101", "103"), ("103", "101")}, 5, what="101-103")
    time.sleep(3.0)
    target.hangup()
    target.wait_call_closed()
    caller.wait_call_closed()
    time.sleep(0.5)
    heard, rate = read_wav(caller.last_recording("dec"))
    assert hears(heard[-int(2.5 * rate) : -int(0.3 * rate)], TONES["103"])
    # while 103 rang, 101 heard the music on hold
    music = heard[-int(6.5 * rate) : -int(4.0 * rate)]
    assert hears(music, HOLD_MUSIC_HZ), dominant_frequency(music)


def test_a_target_that_refuses_gives_the_two_parties_back_to_each_other(
    server, phone_factory
) -> None:
    port = server.config.sip_host_port[1]
    caller = phone(phone_factory, server, "101")
    transferor = phone(phone_factory, server, "102", sip_trace=True)
    target = phone_factory(
        BaresipAccount("103", "pw103", registrar=f"127.0.0.1:{port}", answermode="manual"),
        tone_hz=TONES["103"],
        seconds=60,
    )
    target.wait_registered()
    caller.dial(f"sip:102@127.0.0.1:{port}")
    transferor.wait_call_established()
    caller.wait_call_established()
    transferor.command(f"/transfer sip:103@127.0.0.1:{port}")
    target.wait_incoming()
    time.sleep(0.5)
    target.hangup()  # refuses the call (486)
    wait_until(
        lambda: "Subscription-State: terminated" in transferor.log_text().replace("\r\n", "\n"),
        5,
        what="the final NOTIFY",
    )
    final = transferor.log_text().replace("\r\n", "\n").split("NOTIFY sip:")[-1]
    assert "SIP/2.0 486 Busy Here" in final, final
    # baresip 1.0 hangs up by itself on a failed transfer: its BYE reaches 101 only
    # because the switch bridged 101 and 102 again (a leg left alone would stay up)
    assert caller.wait_call_closed(timeout=10).reason


def test_refers_that_name_no_dialog_or_no_target_are_refused_and_the_call_goes_on(
    server, phone_factory, ports
) -> None:
    """Only a party of the dialog can REFER it: a REFER naming a dialog that does not
    exist is 481, one outside any dialog 405; one without Refer-To is 400."""
    port = server.config.sip_host_port[1]
    caller, callee = phone(phone_factory, server, "101"), phone(phone_factory, server, "102")
    caller.dial(f"sip:102@127.0.0.1:{port}")
    callee.wait_call_established()
    caller.wait_call_established()
    call_id, ours, theirs = dialogs_of(server, "102")["outbound"]
    raw = RawSocket(ports.port(), port)

    def refer(n: int, call: str, to_tag: str, *extra: str) -> int:
        raw.send(
            (
                f"REFER sip:127.0.0.1:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{raw.port};branch=z9hG4bKbad{n};rport\r\n"
                f"From: <sip:102@127.0.0.1>;tag={theirs}\r\n"
                f"To: <sip:101@127.0.0.1>{to_tag}\r\n"
                f"Call-ID: {call}\r\nCSeq: {90000 + n} REFER\r\nMax-Forwards: 70\r\n"
                + "".join(f"{line}\r\n" for line in extra)
                + "Content-Length: 0\r\n\r\n"
            ).encode()
        )
        return raw.final("REFER", call).status

    target = f"Refer-To: <sip:103@127.0.0.1:{port}>"
    try:
        assert refer(1, call_id, f";tag={ours}") == 400  # no Refer-To
        two = f"Refer-To: <sip:104@127.0.0.1:{port}>"
        assert refer(2, call_id, f";tag={ours}", target, two) == 400
        assert refer(3, call_id, ";tag=not-ours", target) == 481
        assert refer(4, "no-such-call", "", target) == 405
    finally:
        raw.close()
    time.sleep(0.5)
    assert bridged_pairs(server) == {("101", "102"), ("102", "101")}
    assert not caller.events_of("call_end") and not callee.events_of("call_end")
    caller.hangup()
    caller.wait_call_closed()
    callee.wait_call_closed()
