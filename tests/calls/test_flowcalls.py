"""Flow calls that never get answered: the outcome the dialer gets and the CDR written."""

from __future__ import annotations

import asyncio

from softswitch.calls import CallKind
from softswitch.flowmodel import parse_flow
from softswitch.outcome import CallOutcome
from softswitch.store.cdrs import CdrStore
from tests.calls.conftest import ACCOUNT, FAR

HANGUP = parse_flow([{"type": "hangup"}])


def dial(service, number: str, **fields):
    values = dict(
        account_id=ACCOUNT,
        number=number,
        caller_id="15168148111",
        flow=HANGUP,
        variables={},
        request_id="a1b2c3d4e5",
        context="local_call",
        direction="outbound-api",
    )
    values.update(fields)
    return service.dial_flow(**values)


async def test_an_unregistered_extension_is_chanunavail(service) -> None:
    outcome = await dial(service, "101")
    assert isinstance(outcome, CallOutcome)
    assert (outcome.answered, outcome.sip_status, outcome.dial_status) == (
        False,
        480,
        "CHANUNAVAIL",
    )
    assert outcome.answered_at is None and outcome.result is None and outcome.cdr_id
    (cdr,) = _cdrs(service, "a1b2c3d4e5")
    assert (cdr.id, cdr.dial_status, cdr.call_status) == (outcome.cdr_id, "CHANUNAVAIL", "FAILED")
    assert (cdr.customer_number, cdr.dialed_number) == ("101", "101")
    assert cdr.call_date == outcome.started_at and cdr.end == outcome.ended_at
    assert service.calls == {}


async def test_a_campaign_call_while_it_rings_and_after(service) -> None:
    task = asyncio.ensure_future(
        dial(
            service,
            FAR,
            direction="outbound-campaign",
            context="local_call_campaign_type_0",
            campaign_id="CMcc0cb33a01",
            list_id="LS50f6ec70b7",
        )
    )
    for _ in range(200):
        rows = service.live_calls(ACCOUNT)
        if rows:
            break
        await asyncio.sleep(0.01)
    assert [(r.kind, r.request_id, r.number) for r in rows] == [
        (CallKind.CAMPAIGN, "a1b2c3d4e5", FAR)
    ]
    assert service.live_statistics(ACCOUNT).campaign == 1
    channel = service.switch.channels.get(rows[0].channel)
    await channel.hangup("no answer", 487)
    outcome = await asyncio.wait_for(task, 5)
    assert (outcome.sip_status, outcome.dial_status) == (487, "NOANSWER")
    (cdr,) = _cdrs(service, "a1b2c3d4e5")
    # a campaign's CDR names the contact in dialed_number only
    assert (cdr.customer_number, cdr.dialed_number) == ("", FAR)
    assert (cdr.campaign_id, cdr.list_id, cdr.call_direction) == (
        "CMcc0cb33a01",
        "LS50f6ec70b7",
        "outbound-campaign",
    )
    assert service.live_statistics(ACCOUNT).campaign == 0


def _cdrs(service, request_id: str):
    return CdrStore(service.switch.store.db).by_request_id(ACCOUNT, request_id)
