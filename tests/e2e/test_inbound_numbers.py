"""The office PBX from the carrier's side: kamailio as the carrier sends calls for the
main number to the switch; the number's business hours, IVR menu and ring group decide
which baresip phone rings. Numbers, ring groups and flows are set through the HTTP API.

Business hours are built around "now" (open all week, or closed by a holiday on the
dates around today), so no test depends on when it runs.
"""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest

from tests.e2e.talk import assert_heard
from tests.peers.audio import dominant_frequency
from tests.peers.baresip import BaresipAccount
from tests.peers.kamailio import Kamailio, company_carrier, company_trunk
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

OUTSIDE = "5551000"  # a customer of the carrier
MAIN = "4930100"  # the company's main number, routed by the carrier to the switch
AUTH = {"account": "account_1", "auth": "secret-one"}
ALWAYS_OPEN = {
    "time_zone": "Europe/Berlin",
    "open": [
        {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "24:00",
        }
    ],
}


def closed_today() -> dict:
    """The same hours with the dates around today as holidays: closed now, anywhere."""
    today = dt.datetime.now(dt.UTC).date()
    days = [str(today + dt.timedelta(days=n)) for n in (-1, 0, 1)]
    return ALWAYS_OPEN | {"holidays": days}


class Office:
    def __init__(self, harness, carrier: Kamailio, phone_factory) -> None:
        self.harness = harness
        self.carrier = carrier
        self.phone_factory = phone_factory
        self.port = harness.config.sip_host_port[1]

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        response = httpx.request(
            method, self.harness.url + path, json=body, headers=AUTH, timeout=10
        )
        data = response.json()["response"]
        assert response.status_code == 200, data
        return data

    def phone(self, number: str, tone_hz: float, answer: bool = True):
        phone = self.phone_factory(
            BaresipAccount(
                number,
                f"pw{number}",
                registrar=f"127.0.0.1:{self.port}",
                answermode="auto" if answer else "manual",
            ),
            tone_hz=tone_hz,
        )
        phone.wait_registered()
        return phone

    def customer(self):
        phone = self.phone_factory(
            BaresipAccount(OUTSIDE, "outpw", registrar=self.carrier.address), tone_hz=500.0
        )
        phone.wait_registered()
        return phone

    def inbound_cdrs(self) -> list:
        cdrs = self.harness.runtime.cdrs
        return self.harness.call(cdrs.by_date, "account_1", 0, time.time() + 60)


@pytest.fixture
def carrier(tmp_path, ports):
    """The carrier and the switch's SIP port it routes the main number to. Set up before
    (so torn down after) the switch and the phones."""
    with company_carrier(tmp_path / "carrier", ports, OUTSIDE) as made:
        yield made


@pytest.fixture
def office(request, carrier, server_factory, phone_factory):
    """``@pytest.mark.parametrize("office", [{...config...}], indirect=True)`` adds config."""
    extra = getattr(request, "param", {})
    kamailio, switch_port = carrier
    harness = server_factory(
        extensions={"101": "pw101", "102": "pw102", "103": "pw103"},
        trunks=[company_trunk(kamailio)],
        sip={"listen": f"127.0.0.1:{switch_port}", "ring_timeout": 20},
        **extra,
    )
    kamailio.wait_registered("trunkuser")
    return Office(harness, kamailio, phone_factory)


def menu_flow(office: Office) -> None:
    office.api(
        "POST",
        "/api/flows",
        {
            "flow_name": "main menu",
            "flow": [
                {
                    "type": "menu",
                    "prompt": {"type": "say", "text": "Press one for sales."},
                    "options": {"1": "ring_group:sales"},
                    "timeout": 2,
                    "retries": 1,
                    "invalid": [{"type": "say", "text": "Sorry."}, {"type": "hangup"}],
                }
            ],
        },
    )


def test_in_hours_the_ivr_sends_key_1_to_the_ring_group_and_one_phone_answers(office):
    first = office.phone("101", 900.0)
    second = office.phone("102", 1300.0, answer=False)  # rings, never answers
    office.api("POST", "/api/ring_groups", {"id": "sales", "members": ["101", "102"]})
    menu_flow(office)
    office.api(
        "POST",
        "/api/numbers",
        {
            "number": MAIN,
            "destination": "flow:main menu",
            "hours": ALWAYS_OPEN,
            "closed": "extension:103",
        },
    )
    customer = office.customer()
    customer.dial(f"sip:{MAIN}@{office.carrier.address}")
    customer.wait_call_established()  # the IVR answers
    time.sleep(1.0)
    customer.send_dtmf("1")
    second.wait_incoming(timeout=15)  # both members ring at once
    first.wait_call_established(timeout=15)
    # the number's account sees the call once (the trunk's account is the same one)
    stats = office.api("GET", "/api/get_live_call_statistics")["result"]
    assert stats["live_calls_inbound"] == 1, stats
    # the caller's leg and the answering member's (the other member's is cancelled)
    live = wait_until(
        lambda: len(rows := office.api("GET", "/api/live_calls")["result"]) == 2 and rows,
        5,
        what="two live channels",
    )
    assert {row["call_type"] for row in live} == {"inbound"}, live
    time.sleep(2)
    customer.hangup()
    customer.wait_call_closed()
    first.wait_call_closed()
    time.sleep(0.5)
    assert_heard(first, 500.0)
    assert_heard(customer, 900.0)
    cdr = wait_until(lambda: office.inbound_cdrs(), 10, what="inbound CDR")[-1]
    assert cdr.call_direction == "inbound" and cdr.dialed_number == MAIN
    assert cdr.dtmf_inputs == "1" and cdr.dial_status == "ANSWER"


def test_nobody_in_the_ring_group_answers_so_the_fallback_takes_the_call(office):
    office.phone("101", 900.0, answer=False)
    office.phone("102", 1300.0, answer=False)
    fallback = office.phone("103", 700.0)
    office.api(
        "POST",
        "/api/ring_groups",
        {"id": "sales", "members": ["101", "102"], "timeout": 3, "fallback": "extension:103"},
    )
    office.api("POST", "/api/numbers", {"number": MAIN, "destination": "ring_group:sales"})
    customer = office.customer()
    started = time.monotonic()
    customer.dial(f"sip:{MAIN}@{office.carrier.address}")
    fallback.wait_call_established(timeout=15)
    assert time.monotonic() - started >= 3  # the group rang for its timeout first
    time.sleep(3)
    fallback.hangup()
    fallback.wait_call_closed()
    customer.wait_call_closed()
    time.sleep(0.5)
    assert_heard(fallback, 500.0)
    assert_heard(customer, 700.0)


@pytest.mark.parametrize(
    "office",
    [
        {
            "ring_groups": [{"id": "sales", "account": "account_1", "members": ["101"]}],
            "numbers": [
                {
                    "number": "+" + MAIN,
                    "account": "account_1",
                    "destination": "ring_group:sales",
                    "hours": closed_today(),
                    "closed": "extension:103",
                }
            ],
        }
    ],
    indirect=True,
)
def test_after_hours_the_configured_number_rings_its_closed_destination(office):
    closed = office.phone("103", 700.0)
    assert office.api("GET", "/api/numbers")["result"][0]["closed"] == "extension:103"
    customer = office.customer()
    customer.dial(f"sip:{MAIN}@{office.carrier.address}")
    closed.wait_call_established()
    customer.wait_call_established()
    time.sleep(3)
    customer.hangup()
    customer.wait_call_closed()
    closed.wait_call_closed()
    time.sleep(0.5)
    assert_heard(closed, 500.0)
    assert_heard(customer, 700.0)


def test_a_sequential_ring_group_rings_the_next_member_after_the_member_timeout(office):
    first = office.phone("101", 900.0, answer=False)
    second = office.phone("102", 1300.0)
    office.api(
        "POST",
        "/api/ring_groups",
        {
            "id": "sales",
            "members": ["101", "102"],
            "strategy": "sequential",
            "member_timeout": 3,
            "timeout": 20,
        },
    )
    office.api("POST", "/api/numbers", {"number": MAIN, "destination": "ring_group:sales"})
    customer = office.customer()
    customer.dial(f"sip:{MAIN}@{office.carrier.address}")
    first.wait_incoming(timeout=15)
    rang = time.monotonic()
    assert not second.events_of("answering")  # only the first member rings at first
    second.wait_call_established(timeout=15)
    assert time.monotonic() - rang >= 2.5
    first.wait_call_closed()  # the first member was cancelled
    time.sleep(2)
    customer.hangup()
    customer.wait_call_closed()
    second.wait_call_closed()
    time.sleep(0.5)
    assert_heard(customer, 1300.0)


def test_a_menu_with_no_valid_key_takes_the_invalid_branch_then_hangs_up(office):
    office.api("POST", "/api/ring_groups", {"id": "sales", "members": ["101"]})
    menu_flow(office)
    office.api("POST", "/api/numbers", {"number": MAIN, "destination": "flow:main menu"})
    customer = office.customer()
    customer.dial(f"sip:{MAIN}@{office.carrier.address}")
    customer.wait_call_established()
    time.sleep(1.0)
    customer.send_dtmf("9")  # no such option: the prompt again (one retry)
    time.sleep(2.5)
    customer.send_dtmf("7")  # wrong again: "Sorry.", then the switch hangs up
    closed = customer.wait_call_closed(timeout=15)
    assert closed.reason
    cdr = wait_until(lambda: office.inbound_cdrs(), 10, what="inbound CDR")[-1]
    assert cdr.dtmf_inputs == "97"


@pytest.mark.parametrize(
    "office",
    [{"extension_options": {"101": {"voicemail": True, "account": "account_1"}}}],
    indirect=True,
)
def test_a_number_routed_to_voicemail_takes_the_callers_message(office):
    office.api("POST", "/api/numbers", {"number": MAIN, "destination": "voicemail:101"})
    customer = office.customer()  # its tone: 500 Hz
    customer.dial(f"sip:{MAIN}@{office.carrier.address}")
    customer.wait_call_established(timeout=15)
    # the greeting (synthesized on first use: slow on a loaded machine), then the beep,
    # which creates the message's file; then two seconds of the customer's tone
    box = office.harness.switch.voicemail.boxes.get("101").folder
    wait_until(lambda: box.exists() and any(box.glob("*.wav")), 30, what="the beep")
    time.sleep(2)
    customer.hangup()
    customer.wait_call_closed()
    listed = wait_until(
        lambda: office.api("GET", "/api/voicemail/101/messages").get("result"),
        10,
        what="the message in the box",
    )
    assert len(listed) == 1 and listed[0]["caller"] == OUTSIDE, listed
    audio = httpx.get(
        f"{office.harness.url}/api/voicemail/101/messages/{listed[0]['message_id']}/audio",
        headers=AUTH,
        timeout=10,
    )
    assert audio.status_code == 200
    wav = office.harness.config.store.path + ".vm.wav"
    with open(wav, "wb") as fh:
        fh.write(audio.content)
    assert abs(dominant_frequency(wav) - 500.0) < 15


def test_a_menu_option_routes_to_another_flow_that_routes_to_an_extension(office):
    operator = office.phone("103", 700.0)
    office.api(
        "POST",
        "/api/flows",
        {
            "flow_name": "operator",
            "flow": [
                {"type": "say", "text": "Connecting you."},
                {"type": "route", "to": "extension:103", "timeout": 10},
            ],
        },
    )
    office.api(
        "POST",
        "/api/flows",
        {
            "flow_name": "main menu",
            "flow": [
                {
                    "type": "menu",
                    "prompt": {"type": "say", "text": "Press zero for the operator."},
                    "options": {"0": "flow:operator"},
                    "timeout": 3,
                }
            ],
        },
    )
    office.api("POST", "/api/numbers", {"number": MAIN, "destination": "flow:main menu"})
    customer = office.customer()
    customer.dial(f"sip:{MAIN}@{office.carrier.address}")
    customer.wait_call_established()
    time.sleep(1.0)
    customer.send_dtmf("0")
    operator.wait_call_established(timeout=15)
    time.sleep(3)
    operator.hangup()
    operator.wait_call_closed()
    customer.wait_call_closed()
    time.sleep(0.5)
    assert_heard(operator, 500.0)
    assert_heard(customer, 700.0)
