"""The hooks: a CDR and its events are written together; a transcript is told with the
call's request id; accounts without a URL record nothing."""

from __future__ import annotations

import json

from softswitch.store import Store
from softswitch.store.cdrs import Cdr, CdrStore
from softswitch.store.webhooks import WebhookSettings, WebhookStore
from softswitch.webhooks.events import EventType, WebhookEvents


def cdr(account: str, recording: str = "") -> Cdr:
    return Cdr(
        account_id=account,
        request_id="0123456789",
        call_direction="outbound-api",
        destination_context="click2call",
        caller_id="555",
        agent_number="101",
        customer_number="102",
        dialed_number="102",
        call_date=1_700_000_000.0,
        answer=1_700_000_001.0,
        end=1_700_000_011.0,
        call_duration=11.0,
        billsec=10.0,
        call_status="ANSWERED",
        dial_status="ANSWER",
        recording_name=recording,
    )


def test_a_finished_calls_cdr_recording_and_transcript_are_told(store_url) -> None:
    store = Store(store_url)
    hooks, cdrs = WebhookStore(store.db), CdrStore(store.db)
    hooks.put_settings(WebhookSettings("acc", "http://127.0.0.1:9/", "whsec_x", 0.0))
    woken: list[str] = []
    events = WebhookEvents(hooks)
    events.recorded = woken.append
    cdr_id = events.call_completed(cdrs, cdr("acc", "0123456789.wav"))
    events.transcript_ready(cdrs, cdr_id, "agent: hello")
    assert cdrs.by_request_id("acc", "0123456789")[0].transcript == "agent: hello"
    told = [json.loads(e.body) for e in reversed(hooks.listing("acc")[0])]
    assert [b["type"] for b in told] == [
        EventType.CALL_COMPLETED,
        EventType.RECORDING_READY,
        EventType.TRANSCRIPT_READY,
    ]
    assert {b["request_id"] for b in told} == {"0123456789"}
    assert told[0]["data"]["cdr"]["billsec"] == 10.0 and told[0]["data"]["cdr"]["id"] == cdr_id
    assert told[1]["data"] == {"cdr_id": cdr_id, "recording_name": "0123456789.wav"}
    assert told[2]["data"] == {"cdr_id": cdr_id, "transcript": "agent: hello"}
    assert woken == ["acc"] * 3
    # an account without a status_callback: the CDR is written, no event
    events.call_completed(cdrs, cdr("quiet"))
    assert cdrs.by_request_id("quiet", "0123456789") and hooks.listing("quiet")[1] == 0
    store.close()
