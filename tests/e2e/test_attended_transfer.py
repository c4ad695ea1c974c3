"""Attended transfer from a real phone: linphonec (liblinphone 5) holds its first call,
consults another extension, then sends REFER with Replaces (RFC 3515 + 3891) from its
``transfer <id> --to-call <id>`` command. baresip 1.0 has no attended transfer.

The party of the first call must end up talking to the consulted one, audio both ways,
linphonec's two calls released; a call from the carrier keeps the transfer in its CDR.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from media.tones import HOLD_MUSIC_HZ
from tests.peers.audio import band_energy_ratio, dominant_frequency, make_tone_wav, read_wav
from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.kamailio import company_carrier, company_trunk
from tests.peers.linphone import Linphonec
from tests.peers.ports import PortPicker
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

EXTENSIONS = {"101": "pw101", "102": "pw102", "103": "pw103"}
TONES = {"101": 440.0, "102": 1000.0, "103": 1250.0, "customer": 500.0}
OUTSIDE = "5551000"  # a customer of the carrier
MAIN = "4930100"  # the company's number, routed by the carrier to the switch


def hears(audio: np.ndarray, tone: float) -> bool:
    return abs(dominant_frequency(audio) - tone) < 15 and band_energy_ratio(audio, tone) > 0.5


def heard_between(phone: Baresip, since: float, start: float, end: float) -> np.ndarray:
    """What ``phone`` heard from ``start`` to ``end`` (monotonic clock) in its call
    established at ``since``."""
    heard, rate = read_wav(phone.last_recording("dec"))
    return heard[int((start - since) * rate) : int((end - since) * rate)]


def last_seconds(phone: Baresip) -> np.ndarray:
    """The last ~2 s ``phone`` heard before its call ended (its recording is the call's)."""
    heard, rate = read_wav(phone.last_recording("dec"))
    return heard[-int(2.5 * rate) : -int(0.3 * rate)]


@pytest.fixture
def linphone_factory(tmp_path: Path, ports: PortPicker) -> Iterator[Callable[..., Linphonec]]:
    """linphone_factory(number, registrar "host:port") -> a registered linphonec that
    answers every call at once and says TONES[number]."""
    started: list[Linphonec] = []

    def make(number: str, registrar: str) -> Linphonec:
        workdir = tmp_path / f"linphone-{number}"
        workdir.mkdir()
        phone = Linphonec(
            workdir,
            number,
            EXTENSIONS[number],
            registrar,
            ports.block(10),
            make_tone_wav(workdir / "mic.wav", TONES[number], 60),
        )
        started.append(phone)
        phone.start()
        phone.wait_registered()
        phone.auto_answer()
        return phone

    yield make
    for phone in started:
        phone.stop()


def channels(server) -> list[tuple[str, str]]:
    """The switch's live channels: (endpoint name, the endpoint it is bridged to or "")."""

    def snapshot() -> list[tuple[str, str]]:
        return sorted(
            ((ch.endpoint.name, ch.bridged.endpoint.name if ch.bridged else ""))
            for ch in server.switch.channels
        )

    return server.call(snapshot)


def consult_and_transfer(
    linphone: Linphonec, target: Baresip, uri: str, refer_in: int, hold_both: bool = False
) -> tuple[float, float]:
    """linphonec, in call 1, holds it, calls ``uri`` (call 2, answered by ``target``),
    then attended-transfers: the REFER goes in call ``refer_in``'s dialog and names the
    other call in its Replaces. ``hold_both``: it holds call 2 too first, as some desk
    phones do before they refer (both other parties then hear the music on hold).
    When (monotonic clock) ``target`` answered, and when the REFER was asked for."""
    linphone.wait_call(1, "connected.")
    time.sleep(1.0)
    linphone.pause(1)
    linphone.call(uri)
    target.wait_call_established()
    answered = time.monotonic()
    linphone.wait_call(2, "connected.")
    time.sleep(1.0)
    if hold_both:
        linphone.pause(2)
        time.sleep(1.5)
    referred = time.monotonic()
    linphone.transfer_to_call(refer_in, 2 if refer_in == 1 else 1)
    return answered, referred


def assert_transfer_notified(linphone: Linphonec) -> None:
    """The REFER was accepted, its NOTIFYs said 100 then 200 (message/sipfrag), and the
    BYE linphonec sent on that 200 was answered 200, not 481: the switch let the phone
    hang up its call itself instead of crossing its BYE with one of its own."""
    assert linphone.sip_messages("SIP/2.0 202 Accepted")
    notifies = linphone.sip_messages("NOTIFY ")
    assert [n.count("Event: refer") for n in notifies] == [1, 1], notifies
    trying, final = notifies
    assert "\nSIP/2.0 100 Trying" in trying and "Subscription-State: active" in trying
    assert "\nSIP/2.0 200 OK" in final and "Subscription-State: terminated" in final
    assert "message/sipfrag" in trying and "message/sipfrag" in final
    assert not linphone.sip_messages("SIP/2.0 481"), linphone.sip_messages("SIP/2.0 481")


@pytest.fixture
def carrier(tmp_path, ports):
    """The carrier and the switch port it routes the company's numbers to."""
    with company_carrier(tmp_path / "carrier", ports, OUTSIDE) as made:
        yield made


@pytest.fixture(autouse=True)
def clean_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No transfer leaves a traceback or an error in the switch's log."""
    yield
    assert "Traceback" not in caplog.text
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_customer_from_the_carrier_is_attended_transferred_to_another_extension(
    carrier, server_factory, phone_factory, linphone_factory
) -> None:
    """The customer calls the company's number, linphonec (102) answers, holds, consults
    103 and transfers: the customer and 103 talk both ways, both of 102's calls end, and
    the call's CDR says '102 transferred <customer> to 103'."""
    kamailio, switch_port = carrier
    server = server_factory(
        extensions=EXTENSIONS,
        trunks=[company_trunk(kamailio)],
        sip={"listen": f"127.0.0.1:{switch_port}"},
        numbers=[{"number": "+" + MAIN, "account": "account_1", "destination": "extension:102"}],
    )
    kamailio.wait_registered("trunkuser")
    transferor = linphone_factory("102", f"127.0.0.1:{switch_port}")
    target = phone_factory(
        BaresipAccount("103", "pw103", registrar=f"127.0.0.1:{switch_port}"),
        tone_hz=TONES["103"],
    )
    customer = phone_factory(
        BaresipAccount(OUTSIDE, "outpw", registrar=kamailio.address), tone_hz=TONES["customer"]
    )
    target.wait_registered()
    customer.wait_registered()

    customer.dial(f"sip:{MAIN}@{kamailio.address}")
    customer.wait_call_established()
    consult_and_transfer(transferor, target, f"sip:103@127.0.0.1:{switch_port}", refer_in=1)
    transferor.wait_output(r"The distant endpoint \S+ of call 1 has been transfered")
    # both of 102's calls end: it hangs call 1 up itself on the NOTIFY's 200, the
    # switch releases the consultation call
    transferor.wait_call(1, "ended")
    transferor.wait_call(2, "ended")
    wait_until(
        lambda: [name for name, _ in channels(server)] == sorted(["103", "carrier"]),
        5,
        what="only the customer's and 103's legs left",
    )
    assert channels(server) == [("103", "carrier"), ("carrier", "103")]
    time.sleep(3.0)
    target.hangup()
    target.wait_call_closed()
    assert customer.wait_call_closed().reason  # the customer's call ends with 103's
    time.sleep(0.5)

    assert hears(last_seconds(customer), TONES["103"]), dominant_frequency(last_seconds(customer))
    assert hears(last_seconds(target), TONES["customer"]), dominant_frequency(last_seconds(target))
    assert_transfer_notified(transferor)
    assert not customer.events_of("call_end")[1:]  # one call, never cut
    cdrs = server.runtime.cdrs
    (cdr,) = wait_until(
        lambda: server.call(cdrs.by_date, "account_1", 0, time.time() + 60), 10, what="the CDR"
    )
    assert cdr.transfers == f"102 transferred {OUTSIDE} to 103", cdr


@pytest.mark.parametrize(
    ("refer_in", "hold_both"), [(2, False), (1, True)], ids=["refer-in-consultation", "both-held"]
)
def test_extension_to_extension_attended_transfers_connect_the_two_other_parties(
    server_factory, phone_factory, linphone_factory, refer_in: int, hold_both: bool
) -> None:
    """101 calls 102 (linphonec), 102 consults 103, then transfers: either the other way
    round (the REFER in the consultation's dialog, the call 102 placed, its Replaces
    naming the first call, the one the switch placed to 102), or with both calls held
    first, so that 101 and 103 both hear the music on hold when the REFER comes. 101
    and 103 talk, both ways."""
    server = server_factory(extensions=EXTENSIONS)
    port = server.config.sip_host_port[1]
    transferor = linphone_factory("102", f"127.0.0.1:{port}")
    caller, target = (
        phone_factory(
            BaresipAccount(n, EXTENSIONS[n], registrar=f"127.0.0.1:{port}"), tone_hz=TONES[n]
        )
        for n in ("101", "103")
    )
    caller.wait_registered()
    target.wait_registered()
    caller.dial(f"sip:102@127.0.0.1:{port}")
    caller.wait_call_established()
    answered, referred = consult_and_transfer(
        transferor, target, f"sip:103@127.0.0.1:{port}", refer_in, hold_both
    )
    transferor.wait_call(1, "ended")
    transferor.wait_call(2, "ended")
    wait_until(
        lambda: channels(server) == [("101", "103"), ("103", "101")],
        5,
        what="101 bridged to 103, nothing else",
    )
    time.sleep(3.0)
    caller.hangup()
    caller.wait_call_closed()
    assert target.wait_call_closed().reason
    time.sleep(0.5)
    assert hears(last_seconds(caller), TONES["103"]), dominant_frequency(last_seconds(caller))
    assert hears(last_seconds(target), TONES["101"]), dominant_frequency(last_seconds(target))
    if hold_both:  # 103 heard the music until the transfer took it off hold
        music = heard_between(target, answered, referred - 1.0, referred)
        assert hears(music, HOLD_MUSIC_HZ), dominant_frequency(music)
    assert_transfer_notified(transferor)


def test_a_transfer_made_while_the_consulted_phone_rings_connects_it_when_it_answers(
    server_factory, phone_factory, linphone_factory
) -> None:
    """Semi-attended: linphonec's transfer key pressed while 103 still rings names the
    early dialog of its consultation call. Its call attempt ends (487), 101 hears the
    music on hold while 103 rings, and talks with 103 once 103 answers."""
    server = server_factory(extensions=EXTENSIONS)
    port = server.config.sip_host_port[1]
    transferor = linphone_factory("102", f"127.0.0.1:{port}")
    caller = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{port}"), tone_hz=TONES["101"]
    )
    target = phone_factory(
        BaresipAccount("103", "pw103", registrar=f"127.0.0.1:{port}", answermode="manual"),
        tone_hz=TONES["103"],
    )
    caller.wait_registered()
    target.wait_registered()
    caller.dial(f"sip:102@127.0.0.1:{port}")
    caller.wait_call_established()
    since = time.monotonic()
    transferor.wait_call(1, "connected.")
    transferor.pause(1)
    transferor.call(f"sip:103@127.0.0.1:{port}")
    target.wait_incoming()
    transferor.wait_call(2, "ringing.")
    transferor.transfer_to_call(1, 2)
    transferor.wait_call(2, "error.")  # its call attempt ended (487): 101 waits for 103
    wait_until(
        lambda: channels(server) == [("101", ""), ("102", ""), ("103", "")],
        5,
        what="101 waiting for 103, apart from 102",
    )
    time.sleep(2.0)
    ringing = time.monotonic()
    target.accept()
    target.wait_call_established()
    transferor.wait_output(r"The distant endpoint \S+ of call 1 has been transfered")
    transferor.wait_call(1, "ended")
    wait_until(lambda: channels(server) == [("101", "103"), ("103", "101")], 5, what="101 with 103")
    time.sleep(3.0)
    caller.hangup()
    caller.wait_call_closed()
    assert target.wait_call_closed().reason
    time.sleep(0.5)
    assert hears(last_seconds(caller), TONES["103"]), dominant_frequency(last_seconds(caller))
    assert hears(last_seconds(target), TONES["101"]), dominant_frequency(last_seconds(target))
    music = heard_between(caller, since, ringing - 1.5, ringing)
    assert hears(music, HOLD_MUSIC_HZ), dominant_frequency(music)  # while 103 rang
    assert_transfer_notified(transferor)
    (attempt,) = transferor.sip_messages("SIP/2.0 487")
    assert re.search(r"\nCSeq: \d+ INVITE\n", attempt), attempt  # its consultation INVITE


def test_a_ringing_target_that_refuses_leaves_the_transferring_phone_its_call(
    server_factory, phone_factory, linphone_factory
) -> None:
    """Semi-attended, and 103 refuses the call: linphonec is told (NOTIFY 486,
    terminated), 101 and 102 are bridged again, and when linphonec resumes its call
    they talk as before."""
    server = server_factory(extensions=EXTENSIONS)
    port = server.config.sip_host_port[1]
    transferor = linphone_factory("102", f"127.0.0.1:{port}")
    caller = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{port}"), tone_hz=TONES["101"]
    )
    target = phone_factory(
        BaresipAccount("103", "pw103", registrar=f"127.0.0.1:{port}", answermode="manual"),
        tone_hz=TONES["103"],
    )
    caller.wait_registered()
    target.wait_registered()
    caller.dial(f"sip:102@127.0.0.1:{port}")
    caller.wait_call_established()
    transferor.wait_call(1, "connected.")
    transferor.pause(1)
    transferor.call(f"sip:103@127.0.0.1:{port}")
    target.wait_incoming()
    transferor.wait_call(2, "ringing.")
    transferor.transfer_to_call(1, 2)
    transferor.wait_call(2, "error.")
    target.hangup()  # refuses: 486
    wait_until(lambda: len(transferor.sip_messages("NOTIFY ")) == 2, 5, what="the final NOTIFY")
    final = transferor.sip_messages("NOTIFY ")[-1]
    assert "\nSIP/2.0 486 Busy Here" in final and "Subscription-State: terminated" in final
    wait_until(
        lambda: channels(server) == [("101", "102"), ("102", "101")], 5, what="101-102 again"
    )
    transferor.command("resume 1")
    wait_until(  # its media up again, as when it answered
        lambda: transferor.output().count("for call 1 (audio)") == 2, 5, what="call 1 resumed"
    )
    time.sleep(3.0)
    caller.hangup()
    caller.wait_call_closed()
    transferor.wait_call(1, "ended")
    time.sleep(0.5)
    assert hears(last_seconds(caller), TONES["102"]), dominant_frequency(last_seconds(caller))
    assert not caller.events_of("call_end")[1:]


def test_an_agent_transfers_a_recorded_click2call_and_the_target_is_recorded_in_its_place(
    server_factory, phone_factory, linphone_factory
) -> None:
    """A recorded click2call: the agent (linphonec, 102) is rung first, then the customer
    (101). The agent consults 103 and transfers: the recording goes on with 103 on the
    agent's side and the customer on the customer's; the CDR names the transfer."""
    server = server_factory(extensions=EXTENSIONS)
    port = server.config.sip_host_port[1]
    agent = linphone_factory("102", f"127.0.0.1:{port}")
    customer, target = (
        phone_factory(
            BaresipAccount(n, EXTENSIONS[n], registrar=f"127.0.0.1:{port}"), tone_hz=TONES[n]
        )
        for n in ("101", "103")
    )
    customer.wait_registered()
    target.wait_registered()
    request_id = server.run(
        server.calls.click2call(
            account_id="account_1",
            agent_number="102",
            destination_number="101",
            caller_id="15168148111",
            recording_option="both",
        )
    )
    customer.wait_call_established()
    consult_and_transfer(agent, target, f"sip:103@127.0.0.1:{port}", refer_in=1)
    agent.wait_call(1, "ended")
    agent.wait_call(2, "ended")
    wait_until(lambda: channels(server) == [("101", "103"), ("103", "101")], 5, what="101 with 103")
    time.sleep(3.0)
    target.hangup()
    target.wait_call_closed()
    customer.wait_call_closed()
    cdrs = server.runtime.cdrs
    (cdr,) = wait_until(
        lambda: server.call(cdrs.by_request_id, "account_1", request_id), 15, what="the CDR"
    )
    assert cdr.transfers == "102 transferred 101 to 103", cdr
    mixed = Path(server.config.media.recordings_dir) / "account_1" / cdr.recording_name
    for side, tone in (("agent", TONES["103"]), ("customer", TONES["101"])):
        samples, rate = read_wav(mixed.with_name(f"{mixed.stem}-{side}.wav"))
        end = samples[-int(2.5 * rate) : -int(0.5 * rate)]
        assert hears(end, tone), (side, dominant_frequency(end))
