"""Voicemail with real phones: a call nobody answers ends in the callee's box, the
message WAV holds the caller's tone, the callee's phone lamp lights (MWI)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.peers.audio import band_energy_ratio, dominant_frequency, rms
from tests.peers.baresip import BaresipAccount

pytestmark = pytest.mark.peers

GREETING = "Leave a message."
API_HEADERS = {"account": "account_1", "auth": "secret-one"}


def register_phone(phone_factory, harness, number, tone_hz, **kwargs):
    port = harness.config.sip_host_port[1]
    account = BaresipAccount(number, f"pw{number}", registrar=f"127.0.0.1:{port}", **kwargs)
    phone = phone_factory(account, tone_hz=tone_hz)
    phone.wait_registered()
    return phone


def voicemail_switch(switch_factory, **kwargs: Any):
    kwargs.setdefault(
        "extension_options",
        {"102": {"voicemail": True, "voicemail_pin": "4321", "greeting": GREETING}},
    )
    kwargs.setdefault("sip", {"ring_timeout": 2})
    return switch_factory(**kwargs)


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def leave_message(harness, caller, tone_seconds: float = 3.0):
    """The caller dials 102, who does not answer, and talks `tone_seconds` after the beep."""
    port = harness.config.sip_host_port[1]
    caller.dial(f"sip:102@127.0.0.1:{port}")
    caller.wait_call_established(timeout=15)
    time.sleep(2.5 + tone_seconds)  # greeting (~1.5 s), beep, then the message
    caller.hangup()
    caller.wait_call_closed()
    vm = harness.switch.voicemail
    return wait_for(lambda: harness.call(lambda: vm.messages("102")))


def test_no_answer_leaves_a_message_with_the_callers_tone(switch_factory, phone_factory):
    harness = voicemail_switch(switch_factory)
    caller = register_phone(phone_factory, harness, "101", 700.0)
    callee = register_phone(phone_factory, harness, "102", 1000.0, answermode="manual")
    [message] = leave_message(harness, caller)
    callee.wait_incoming()  # 102 did ring first
    assert message.caller == "101"
    assert not message.heard
    assert 1.5 < message.duration < 6.0
    path = harness.call(lambda: harness.switch.voicemail.path(message))
    assert abs(dominant_frequency(path) - 700.0) < 15
    assert band_energy_ratio(path, 700.0) > 0.5
    # the caller heard the greeting and the 1 kHz beep before it spoke
    time.sleep(0.5)
    heard = caller.last_recording("dec")
    assert rms(heard) > 100
    assert band_energy_ratio(heard, 1000.0) > 0.05
    assert wait_for(lambda: harness.call(lambda: len(harness.switch.channels)) == 0 or None)


def test_unregistered_extension_goes_straight_to_voicemail(switch_factory, phone_factory):
    harness = voicemail_switch(switch_factory)
    caller = register_phone(phone_factory, harness, "101", 500.0)
    [message] = leave_message(harness, caller, tone_seconds=2.0)
    path = harness.call(lambda: harness.switch.voicemail.path(message))
    assert abs(dominant_frequency(path) - 500.0) < 15


def test_extension_without_voicemail_still_gets_480(switch_factory, phone_factory):
    harness = voicemail_switch(
        switch_factory, extensions={"101": "pw101", "102": "pw102", "103": "pw103"}
    )
    caller = register_phone(phone_factory, harness, "101", 500.0)
    port = harness.config.sip_host_port[1]
    caller.dial(f"sip:103@127.0.0.1:{port}")
    assert caller.wait_call_closed().reason.startswith("480")


def test_subscribed_phone_lamp_follows_the_box_and_the_api(server_factory, phone_factory):
    """The whole process (Runtime + HTTP API): the lamp lights with the message and goes
    off when the API marks it heard; list, download and delete through the API."""
    harness = voicemail_switch(
        server_factory,
        extension_options={
            "102": {
                "voicemail": True,
                "voicemail_pin": "4321",
                "greeting": GREETING,
                "account": "account_1",
            }
        },
    )
    port = harness.config.sip_host_port[1]
    caller = register_phone(phone_factory, harness, "101", 800.0)
    callee = phone_factory(
        BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}", answermode="manual"),
        tone_hz=1000.0,
        extra_apps=["mwi.so"],
    )
    callee.wait_registered()
    # the initial NOTIFY of baresip's subscription (generous timeouts: a loaded machine)
    callee.wait_mwi("no", timeout=30)
    [message] = leave_message(harness, caller)
    callee.wait_mwi("yes", timeout=20)
    assert callee.events_of("mwi_voice")[-1].fields == {"new": "1", "old": "0"}

    base = f"{harness.url}/api/voicemail/102/messages"
    listed = httpx.get(base, headers=API_HEADERS, timeout=10).json()["response"]
    assert [(m["message_id"], m["caller"], m["heard"]) for m in listed["result"]] == [
        (str(message.id), "101", "false")
    ]
    audio = httpx.get(f"{base}/{message.id}/audio", headers=API_HEADERS, timeout=10)
    assert audio.status_code == 200
    wav = harness.switch.voicemail.path(message).with_name("downloaded.wav")
    wav.write_bytes(audio.content)
    assert abs(dominant_frequency(wav) - 800.0) < 15

    marked = httpx.patch(
        f"{base}/{message.id}", json={"heard": True}, headers=API_HEADERS, timeout=10
    )
    assert marked.status_code == 200
    callee.wait_mwi("no", timeout=20)  # the lamp goes off
    assert callee.events_of("mwi_voice")[-1].fields == {"new": "0", "old": "1"}
    deleted = httpx.delete(f"{base}/{message.id}", headers=API_HEADERS, timeout=10)
    assert deleted.status_code == 200
    wait_for(lambda: callee.events_of("mwi_voice")[-1].fields == {"new": "0", "old": "0"})
    assert httpx.get(base, headers=API_HEADERS, timeout=10).json()["response"]["result"] == []
    subscriptions = harness.call(lambda: len(harness.switch.mwi.subscriptions.of("102")))
    assert subscriptions == 1


def test_unsolicited_notify_for_a_phone_that_never_subscribed(switch_factory, phone_factory):
    # baresip 1.0 without mwi.so answers an unsolicited NOTIFY 481 (it matches NOTIFYs
    # to its subscriptions only), so its SIP trace shows what arrived; desk phones
    # configured for unsolicited MWI light their lamp from the same request
    harness = voicemail_switch(switch_factory)
    port = harness.config.sip_host_port[1]
    caller = register_phone(phone_factory, harness, "101", 800.0)
    callee = phone_factory(
        BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}", answermode="manual"),
        tone_hz=1000.0,
        sip_trace=True,
    )
    callee.wait_registered()
    leave_message(harness, caller, tone_seconds=2.0)
    wait_for(lambda: "Messages-Waiting: yes" in callee.log_text() or None)
    trace = callee.log_text()
    notify = trace[trace.index("NOTIFY sip:102") :]
    assert "Event: message-summary" in notify[:1000]
    assert "Content-Type: application/simple-message-summary" in notify[:1000]
    assert "Voice-Message: 1/0" in notify[:1000]


def dial_access(harness, phone):
    port = harness.config.sip_host_port[1]
    phone.dial(f"sip:*97@127.0.0.1:{port}")
    phone.wait_call_established()
    time.sleep(1.5)  # the PIN question has started


def test_access_code_with_the_right_pin_plays_the_message(switch_factory, phone_factory):
    harness = voicemail_switch(switch_factory)
    caller = register_phone(phone_factory, harness, "101", 700.0)
    owner = register_phone(phone_factory, harness, "102", 300.0, answermode="manual")
    [message] = leave_message(harness, caller, tone_seconds=4.0)
    owner.wait_incoming()  # rung first, nobody answered: cancelled
    owner.wait_call_closed()
    dial_access(harness, owner)
    owner.send_dtmf("4321#")
    time.sleep(3.0)  # "You have 1 new and 0 saved messages..."
    owner.send_dtmf("1")
    time.sleep(9.0)  # "Message 1, from 1 0 1", then the message
    owner.hangup()
    owner.wait_call_closed()
    heard = owner.last_recording("dec")
    assert band_energy_ratio(heard, 700.0) > 0.15  # the caller's tone, among the prompts
    vm = harness.switch.voicemail
    assert harness.call(lambda: vm.message("102", message.id).heard)


def test_access_code_locks_after_five_wrong_pins(switch_factory, phone_factory):
    harness = voicemail_switch(switch_factory)
    owner = register_phone(phone_factory, harness, "102", 300.0, answermode="manual")
    guard = harness.switch.voicemail.pin_guard
    dial_access(harness, owner)
    for tries in range(1, 6):
        owner.send_dtmf("1111#")
        wait_for(lambda tries=tries: harness.call(lambda: guard.failures("102")) >= tries)
        time.sleep(2.5)  # "That password is not correct", then the question again
    assert harness.call(lambda: guard.locked_for("102")) > 200
    # the switch hangs up after saying the box is locked
    assert owner.wait_call_closed(timeout=15).reason
    # locked: even the right PIN gets no further
    dial_access(harness, owner)
    owner.send_dtmf("4321#")
    assert owner.wait_call_closed(timeout=15).reason
    assert harness.call(lambda: guard.locked_for("102")) > 0


def test_access_code_without_a_box_is_404(switch_factory, phone_factory):
    harness = voicemail_switch(switch_factory)
    phone = register_phone(phone_factory, harness, "101", 300.0)
    port = harness.config.sip_host_port[1]
    phone.dial(f"sip:*97@127.0.0.1:{port}")
    assert phone.wait_call_closed().reason.startswith("404")


def test_busy_callee_sends_the_caller_to_voicemail_and_pound_ends_it(switch_factory, phone_factory):
    harness = voicemail_switch(switch_factory, sip={"ring_timeout": 30})
    port = harness.config.sip_host_port[1]
    caller = register_phone(phone_factory, harness, "101", 900.0)
    callee = register_phone(phone_factory, harness, "102", 1000.0, answermode="manual")
    caller.dial(f"sip:102@127.0.0.1:{port}")
    callee.wait_incoming()
    callee.hangup()  # rejects the ringing call: busy
    caller.wait_call_established(timeout=10)
    time.sleep(4.5)  # greeting, beep, then ~2 s of tone
    caller.send_dtmf("#")
    closed = caller.wait_call_closed(timeout=10)
    assert closed.reason  # the switch hung up after the message
    vm = harness.switch.voicemail
    [message] = wait_for(lambda: harness.call(lambda: vm.messages("102")))
    assert 0.5 < message.duration < 4.0
    path = harness.call(lambda: vm.path(message))
    assert abs(dominant_frequency(path) - 900.0) < 15


def test_caller_gone_before_the_beep_leaves_nothing(switch_factory, phone_factory):
    harness = voicemail_switch(switch_factory)
    port = harness.config.sip_host_port[1]
    caller = register_phone(phone_factory, harness, "101", 900.0)
    caller.dial(f"sip:102@127.0.0.1:{port}")  # 102 not registered: straight to voicemail
    caller.wait_call_established()
    time.sleep(0.3)
    caller.hangup()
    caller.wait_call_closed()
    assert wait_for(lambda: harness.call(lambda: len(harness.switch.channels)) == 0 or None)
    assert harness.call(lambda: harness.switch.voicemail.messages("102")) == []
    folder = harness.switch.voicemail.boxes.get("102").folder
    assert not folder.exists() or not list(folder.iterdir())


def test_greeting_recorded_at_the_access_code_greets_the_next_caller(switch_factory, phone_factory):
    harness = voicemail_switch(switch_factory)
    owner = register_phone(phone_factory, harness, "102", 350.0, answermode="manual")
    dial_access(harness, owner)
    owner.send_dtmf("4321#")
    time.sleep(3.0)
    owner.send_dtmf("0")
    time.sleep(7.0)  # "Record your greeting after the tone...", the beep, then 350 Hz
    owner.send_dtmf("#")
    vm = harness.switch.voicemail
    greeting = wait_for(lambda: harness.call(lambda: vm.store.box("102").greeting_file))
    owner.hangup()
    owner.wait_call_closed()
    path = vm.boxes.get("102").folder / greeting
    assert abs(dominant_frequency(path) - 350.0) < 15

    caller = register_phone(phone_factory, harness, "101", 1500.0)
    caller.dial(f"sip:102@127.0.0.1:{harness.config.sip_host_port[1]}")
    caller.wait_call_established(timeout=15)
    time.sleep(3.0)
    caller.hangup()
    caller.wait_call_closed()
    time.sleep(0.5)
    assert band_energy_ratio(caller.last_recording("dec"), 350.0) > 0.3


def test_time_limit_cuts_a_long_message_and_keeps_it(switch_factory, phone_factory):
    harness = voicemail_switch(switch_factory, voicemail={"max_seconds": 2})
    port = harness.config.sip_host_port[1]
    caller = register_phone(phone_factory, harness, "101", 650.0)
    caller.dial(f"sip:102@127.0.0.1:{port}")  # 102 not registered
    caller.wait_call_established()
    assert caller.wait_call_closed(timeout=15).reason  # the switch hung up at the limit
    vm = harness.switch.voicemail
    [message] = wait_for(lambda: harness.call(lambda: vm.messages("102")))
    assert 1.8 <= message.duration <= 2.05
    assert abs(dominant_frequency(harness.call(lambda: vm.path(message))) - 650.0) < 15
