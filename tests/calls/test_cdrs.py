"""The CDR of a finished call: statuses, durations and identity, as stored."""

from __future__ import annotations

import pytest

from softswitch.calls.cdrs import CdrBuilder
from softswitch.calls.live import CallKind, LiveCall
from softswitch.store import Store
from softswitch.store.cdrs import CdrStore

STARTED = 1_688_710_079.25


def c2c_call() -> LiveCall:
    return LiveCall(
        "account_1", "0123456789", CallKind.C2C, "15168148111", "101", "919979271234", STARTED
    )


def build(builder: CdrBuilder, call: LiveCall, **fields):
    values = dict(
        sip_status=200,
        answered_at=None,
        ended_at=STARTED + 20,
        direction="outbound-api",
        context="click2call",
        customer_number=call.customer_number,
        dtmf_inputs="",
        recording_name="",
    )
    values.update(fields)
    return builder.build(call, **values)


def test_an_answered_call() -> None:
    cdr = build(
        CdrBuilder(),
        c2c_call(),
        answered_at=STARTED + 2.5,
        ended_at=STARTED + 10.123456,
        dtmf_inputs="12#",
        recording_name="0123456789.wav",
    )
    assert (cdr.dial_status, cdr.call_status) == ("ANSWER", "ANSWERED")
    assert (cdr.call_date, cdr.answer, cdr.end) == (STARTED, STARTED + 2.5, STARTED + 10.123456)
    assert cdr.call_duration == 10.1235 and cdr.billsec == 7.6235
    assert (cdr.account_id, cdr.request_id, cdr.caller_id) == (
        "account_1",
        "0123456789",
        "15168148111",
    )
    assert (cdr.agent_number, cdr.customer_number, cdr.dialed_number) == (
        "101",
        "919979271234",
        "919979271234",
    )
    assert (cdr.call_direction, cdr.destination_context) == ("outbound-api", "click2call")
    assert (cdr.dtmf_inputs, cdr.recording_name) == ("12#", "0123456789.wav")
    assert (cdr.campaign_id, cdr.list_id, cdr.is_dnd) == ("", "", False)


@pytest.mark.parametrize(
    "sip_status, dial_status, call_status",
    [
        (486, "BUSY", "BUSY"),
        (603, "BUSY", "BUSY"),
        (408, "NOANSWER", "NO ANSWER"),
        (487, "NOANSWER", "NO ANSWER"),
        (480, "CHANUNAVAIL", "FAILED"),
        (404, "CHANUNAVAIL", "FAILED"),
        (503, "CONGESTION", "FAILED"),
        (0, "CONGESTION", "FAILED"),
    ],
)
def test_an_unanswered_call(sip_status, dial_status, call_status) -> None:
    cdr = build(CdrBuilder(), c2c_call(), sip_status=sip_status, ended_at=STARTED + 30)
    assert (cdr.dial_status, cdr.call_status) == (dial_status, call_status)
    assert cdr.answer is None and cdr.billsec == 0.0 and cdr.call_duration == 30.0
    # stored as plain strings, as before they were enums
    assert type(cdr.dial_status) is str and type(cdr.call_status) is str


def test_an_answer_time_means_answered_whatever_the_status() -> None:
    cdr = build(CdrBuilder(), c2c_call(), sip_status=0, answered_at=STARTED + 1)
    assert (cdr.dial_status, cdr.call_status, cdr.billsec) == ("ANSWER", "ANSWERED", 19.0)


def test_rows_are_numbered_per_service_like_asterisk_uniqueids() -> None:
    builder = CdrBuilder()
    first, second = build(builder, c2c_call()), build(builder, c2c_call())
    assert (first.uniqueid, second.uniqueid) == ("1688710079.1", "1688710079.2")
    assert build(CdrBuilder(), c2c_call()).uniqueid == "1688710079.1"


def test_a_campaign_call_names_its_campaign_and_list(store_url: str) -> None:
    call = LiveCall(
        "account_1", "a1b2c3d4e5", CallKind.CAMPAIGN, "555", "", "919979271234", STARTED
    )
    cdr = build(
        CdrBuilder(),
        call,
        direction="outbound-campaign",
        context="local_call_campaign_type_1",
        customer_number="",
        campaign_id="CMcc0cb33a01",
        list_id="LS50f6ec70b7",
        answered_at=STARTED + 3,
    )
    assert (cdr.customer_number, cdr.dialed_number, cdr.agent_number) == ("", "919979271234", "")
    store = Store(store_url)
    try:
        cdrs = CdrStore(store.db)
        cdr.id = cdrs.insert(cdr)
        assert cdrs.by_request_id("account_1", "a1b2c3d4e5") == [cdr]
    finally:
        store.close()
