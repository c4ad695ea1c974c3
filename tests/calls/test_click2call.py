"""click2call's refusals and its CDR when the agent cannot be reached (phones: e2e)."""

from __future__ import annotations

import asyncio

import pytest

from softswitch.store.cdrs import CdrStore
from softswitch.switch import SwitchError
from tests.calls.conftest import ACCOUNT, FAR


def place(service, **fields):
    values = dict(account_id=ACCOUNT, agent_number="101", destination_number=FAR, caller_id="555")
    values.update(fields)
    return service.click2call(**values)


async def test_an_unknown_recording_option_names_the_choices(service) -> None:
    with pytest.raises(ValueError) as refused:
        await place(service, recording_option="loud")
    assert str(refused.value) == "recording_option must be one of both, agent, customer, off"
    assert service.calls == {}


async def test_a_number_without_a_route_dials_nobody(service) -> None:
    with pytest.raises(SwitchError) as refused:
        await place(service, agent_number="")
    assert refused.value.status == 404 and service.calls == {}


async def test_an_agent_who_is_not_registered(service) -> None:
    request_id = await place(service, recording_option="both", request_id="0123456789")
    assert request_id == "0123456789"
    cdrs = CdrStore(service.switch.store.db)
    for _ in range(200):
        rows = cdrs.by_request_id(ACCOUNT, request_id)
        if rows:
            break
        await asyncio.sleep(0.01)
    (cdr,) = rows
    assert (cdr.dial_status, cdr.call_status, cdr.billsec) == ("CHANUNAVAIL", "FAILED", 0.0)
    assert (cdr.agent_number, cdr.customer_number, cdr.dialed_number) == ("101", FAR, FAR)
    assert (cdr.destination_context, cdr.call_direction) == ("click2call", "outbound-api")
    assert cdr.recording_name == ""  # nobody answered: nothing was recorded
    assert service.calls == {}
