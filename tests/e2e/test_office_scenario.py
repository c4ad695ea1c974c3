"""The office PBX's day-one scenario, whole, with real peers: kamailio is the carrier, a
customer's baresip calls the company's main number through it.

In business hours the number's IVR answers, the customer presses 1 (RFC 4733), a ring
group of two baresip phones rings, nobody answers, and the group's fallback, the
voicemail box of extension 101, takes the customer's tone as a message; 101's baresip
(subscribed with mwi.so) shows Messages-Waiting: yes. After hours (today made a
holiday through the API) the same number goes straight to that box.

One switch serves both calls; the ring group's timeout is short so the module runs fast.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import httpx
import pytest

from tests.peers.audio import dominant_frequency
from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.kamailio import company_carrier, company_trunk
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

CUSTOMER = "5551000"  # a customer of the carrier
CUSTOMER_HZ = 500.0  # the tone the customer's phone sends
MAIN = "4930100"  # the company's main number, routed by the carrier to the switch
AUTH = {"account": "account_1", "auth": "secret-one"}
OPEN_ALL_WEEK = {
    "time_zone": "Europe/Berlin",
    "open": [
        {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "24:00",
        }
    ],
}
MESSAGE_SECONDS = 2.0  # how long the customer talks after the beep


def closed_today() -> dict:
    """The same hours with the dates around today as holidays: closed now, whatever the
    time zone's date is."""
    today = dt.datetime.now(dt.UTC).date()
    return OPEN_ALL_WEEK | {"holidays": [str(today + dt.timedelta(days=n)) for n in (-1, 0, 1)]}


@pytest.fixture
def carrier(tmp_path, ports):
    """The carrier and the switch port it routes the main number to (before the switch)."""
    with company_carrier(tmp_path / "carrier", ports, CUSTOMER) as made:
        yield made


def api(harness, method: str, path: str, body: dict | None = None) -> dict:
    response = httpx.request(method, harness.url + path, json=body, headers=AUTH, timeout=10)
    data = response.json()["response"]
    assert response.status_code == 200, data
    return data


def talk_after_the_beep(customer: Baresip, box: Path, before: int) -> None:
    """The customer, in ``box`` (which held ``before`` WAVs), talks for MESSAGE_SECONDS
    after the beep, then hangs up: that ends the message."""
    # the message's file is created at the beep
    wait_until(
        lambda: box.exists() and len(list(box.glob("*.wav"))) > before,
        20,
        what="the beep (the message's file)",
    )
    time.sleep(MESSAGE_SECONDS)
    customer.hangup()
    customer.wait_call_closed()


def test_ivr_ring_group_voicemail_with_mwi_then_after_hours_straight_to_voicemail(
    carrier, server_factory, phone_factory
):
    kamailio, switch_port = carrier
    harness = server_factory(
        extensions={"101": "pw101", "102": "pw102"},
        extension_options={
            "101": {"voicemail": True, "greeting": "Leave a message.", "account": "account_1"}
        },
        trunks=[company_trunk(kamailio)],
        sip={"listen": f"127.0.0.1:{switch_port}", "ring_timeout": 20},
    )
    kamailio.wait_registered("trunkuser")
    registrar = f"127.0.0.1:{switch_port}"
    owner = phone_factory(  # 101: the box's owner, its lamp from baresip's mwi module
        BaresipAccount("101", "pw101", registrar=registrar, answermode="manual"),
        tone_hz=900.0,
        extra_apps=["mwi.so"],
    )
    colleague = phone_factory(
        BaresipAccount("102", "pw102", registrar=registrar, answermode="manual"),
        tone_hz=1300.0,
    )
    customer = phone_factory(
        BaresipAccount(CUSTOMER, "outpw", registrar=kamailio.address), tone_hz=CUSTOMER_HZ
    )
    for phone in (owner, colleague, customer):
        phone.wait_registered()
    owner.wait_mwi("no", timeout=30)  # the subscription's first NOTIFY: an empty box

    api(
        harness,
        "POST",
        "/api/ring_groups",
        {"id": "sales", "members": ["101", "102"], "timeout": 3, "fallback": "voicemail:101"},
    )
    api(
        harness,
        "POST",
        "/api/flows",
        {
            "flow_name": "main menu",
            "flow": [
                {
                    "type": "menu",
                    "prompt": {"type": "say", "text": "Press one for sales."},
                    "options": {"1": "ring_group:sales"},
                    "timeout": 3,
                    "retries": 1,
                    "invalid": [{"type": "hangup"}],
                }
            ],
        },
    )
    api(
        harness,
        "POST",
        "/api/numbers",
        {
            "number": MAIN,
            "destination": "flow:main menu",
            "hours": OPEN_ALL_WEEK,
            "closed": "voicemail:101",
        },
    )
    vm = harness.switch.voicemail
    box = vm.boxes.get("101").folder

    # in business hours: the IVR, key 1, the ring group, nobody answers, voicemail
    customer.dial(f"sip:{MAIN}@{kamailio.address}")
    customer.wait_call_established(timeout=15)  # the IVR answers
    time.sleep(0.5)  # into the menu's prompt, which the key cuts short
    customer.send_dtmf("1")
    owner.wait_incoming(timeout=15)  # both members ring at once
    colleague.wait_incoming(timeout=15)
    owner.wait_call_closed(timeout=15)  # the group's 3 s are over: both cancelled
    colleague.wait_call_closed(timeout=15)
    talk_after_the_beep(customer, box, 0)

    [message] = wait_until(lambda: harness.call(lambda: vm.messages("101")), 10, what="message")
    assert message.caller == CUSTOMER
    assert MESSAGE_SECONDS - 0.7 < message.duration < MESSAGE_SECONDS + 1.5, message
    path = harness.call(lambda: vm.path(message))
    assert abs(dominant_frequency(path) - CUSTOMER_HZ) < 15
    owner.wait_mwi("yes", timeout=20)
    assert owner.events_of("mwi_voice")[-1].fields == {"new": "1", "old": "0"}
    cdr = wait_until(
        lambda: harness.call(harness.runtime.cdrs.by_date, "account_1", 0, time.time() + 60),
        10,
        what="the inbound CDR",
    )[-1]
    assert cdr.dialed_number == MAIN and cdr.dtmf_inputs == "1", cdr

    # after hours: today is a holiday, the same number goes straight to the box
    api(harness, "PATCH", f"/api/numbers/{MAIN}", {"hours": closed_today()})
    rung = len(owner.events_of("incoming")), len(colleague.events_of("incoming"))
    customer.dial(f"sip:{MAIN}@{kamailio.address}")
    customer.wait_call_established(timeout=15)
    talk_after_the_beep(customer, box, 1)
    messages = wait_until(
        lambda: len(found := harness.call(lambda: vm.messages("101"))) == 2 and found,
        10,
        what="the second message",
    )
    second = max(messages, key=lambda m: m.id)
    assert abs(dominant_frequency(harness.call(lambda: vm.path(second))) - CUSTOMER_HZ) < 15
    assert (len(owner.events_of("incoming")), len(colleague.events_of("incoming"))) == rung
    wait_until(
        lambda: owner.events_of("mwi_voice")[-1].fields == {"new": "2", "old": "0"},
        20,
        what="the lamp counting two messages",
    )
    # one subscription all along (baresip 1.0 could loop on SUBSCRIBE: tests/peers/baresip)
    assert harness.call(lambda: len(harness.switch.mwi.subscriptions.of("101"))) == 1
