"""click2call, OTP calls, live calls and their statistics, modify_call: validation and the
paths that need no phone (the e2e suite covers real calls)."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.api.conftest import ACCOUNT_2

C2C = {"agent_number": "101", "caller_id": "15168148111", "destination_number": "102"}


async def test_live_call_statistics_shape(api_env) -> None:
    status, body = await api_env.call("GET", "/api/get_live_call_statistics")
    assert status == 200
    assert body == {
        "response": {
            "result": {
                "live_calls_c2c": 0,
                "live_calls_campaign": 0,
                "live_calls_inbound": 0,
                "live_calls_otp": 0,
            },
            "success": "true",
        }
    }


async def wait_cdr(api_env, request_id: str, headers=None) -> dict:
    for _ in range(200):
        status, body = await api_env.call(
            "POST", "/api/get_cdr_by_request_id", {"request_id": request_id}, headers=headers
        )
        if status == 200:
            return body["response"]["result"][0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no CDR for {request_id}")


async def test_click2call_to_an_agent_who_is_not_registered(api_env) -> None:
    # The spec's body, typographic quotes and all, with dialable numbers.
    raw = (
        "{“agent_number”:”101″,”caller_id”:”15168148111″,”destination_number”:”102″,"
        "“recording_option”:”on”,”transcript”:”off”}"
    )
    status, body = await api_env.call("POST", "/api/click2call", raw)
    assert status == 200, body
    assert body["response"]["success"] == "true"
    request_id = body["response"]["request_id"]
    assert re.fullmatch(r"[0-9a-f]{10}", request_id)
    cdr = await wait_cdr(api_env, request_id)
    assert cdr["request_id"] == request_id and cdr["agent_number"] == "101"
    assert cdr["dial_status"] == "CHANUNAVAIL" and cdr["call_status"] == "FAILED"
    assert cdr["destination_context"] == "click2call"
    assert cdr["call_direction"] == "outbound-api"
    assert cdr["answer"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", cdr["call_date"])
    # another account sees nothing of it
    status, body = await api_env.call(
        "POST", "/api/get_cdr_by_request_id", {"request_id": request_id}, headers=ACCOUNT_2
    )
    assert status == 404 and body["response"] == {"message": "cdr not found", "success": "false"}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"agent_number": "999"}, "agent_number: '999' is not a local extension"),
        ({"destination_number": "1234567"}, "destination_number: '1234567' is not a local"),
        ({"destination_number": "15551234567"}, "destination_number: '15551234567' is not a valid"),
        ({"destination_number": "91800068XXXX"}, "destination_number: '91800068XXXX' is not a"),
        ({"recording_option": "loud"}, "recording_option:"),
        ({"caller_id": None}, "caller_id:"),
    ],
)
async def test_click2call_refusals_name_the_field(api_env, change, message) -> None:
    body = {k: v for k, v in {**C2C, **change}.items() if v is not None}
    status, answer = await api_env.call("POST", "/api/click2call", body)
    assert status == 400
    assert answer["response"]["success"] == "false"
    assert answer["response"]["message"].startswith(message), answer
    assert api_env.ctx.calls.calls == {}  # nothing was started


async def test_numbers_a_trunk_carries(api_env) -> None:
    from api.cpaas.numbers import check_dialable

    # an international number any trunk carries, and a short number in a trunk's own plan
    assert check_dialable(api_env.ctx, "n", "+919979271234") == "919979271234"
    assert check_dialable(api_env.ctx, "n", "5551000") == "5551000"
    assert check_dialable(api_env.ctx, "n", "101") == "101"


async def test_oversized_body_is_refused(api_env) -> None:
    status, body = await api_env.call(
        "POST", "/api/click2call", '{"agent_number": "' + "1" * 300_000 + '"}'
    )
    assert status == 400 and "too large" in body["response"]["message"]


async def test_modify_call_on_an_unknown_channel(api_env) -> None:
    status, body = await api_env.call(
        "POST", "/api/modify_call", {"channel": " SIP/101-0000023c", "modify_type": "2"}
    )
    assert status == 404 and "SIP/101-0000023c" in body["response"]["message"]
    status, body = await api_env.call(
        "POST", "/api/modify_call", {"channel": "SIP/101-0000023c", "modify_type": "0"}
    )
    assert status == 400 and body["response"]["message"].startswith("transfer_to:")
    status, body = await api_env.call(
        "POST",
        "/api/modify_call",
        {"channel": "SIP/101-0000023c", "modify_type": "1", "transfer_to": "77"},
    )
    assert status == 400 and body["response"]["message"].startswith("transfer_to:")


async def test_live_calls_lists_nothing_when_idle(api_env) -> None:
    status, body = await api_env.call("GET", "/api/live_calls")
    assert status == 200 and body["response"]["result"] == []


async def test_outbound_call_needs_the_accounts_template(api_env) -> None:
    status, body = await api_env.call(
        "POST", "/api/announce_templates", {"text": "Your code is {otp}"}, headers=ACCOUNT_2
    )
    other_accounts = body["response"]["announce_template_id"]
    call = {
        "customer_number": "919979271234",
        "otp": "1987",
        "announce_template_id": other_accounts,
        "repeat": "1",
        "caller_id": "15168148111",
    }
    status, body = await api_env.call("POST", "/api/outbound_call", call)
    assert status == 404 and body["response"]["message"].startswith("announce_template_id:")
    status, body = await api_env.call(
        "POST", "/api/announce_templates", {"text": "Your code is {otp}"}
    )
    mine = body["response"]["announce_template_id"]
    status, body = await api_env.call(
        "POST", "/api/outbound_call", {**call, "announce_template_id": mine, "voice": "Nobody"}
    )
    assert status == 400 and body["response"]["message"].startswith("voice")
    status, body = await api_env.call(
        "POST",
        "/api/outbound_call",
        {**call, "announce_template_id": mine, "customer_number": "4444"},
    )
    assert status == 400 and body["response"]["message"].startswith("customer_number:")
    for amd in ("maybe", 1, ""):
        status, body = await api_env.call(
            "POST", "/api/outbound_call", {**call, "announce_template_id": mine, "amd": amd}
        )
        assert status == 400 and body["response"]["message"].startswith("amd"), body
    assert api_env.ctx.calls.calls == {}


async def test_oversized_chunked_body_is_refused_while_streaming(api_env) -> None:
    async def chunks():
        yield b'{"agent_number": "'
        for _ in range(40):
            yield b"1" * 10_000
        yield b'"}'

    response = await api_env.client.post(
        "/api/click2call", content=chunks(), headers={"account": "account_1", "auth": "secret-one"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 400 and "too large" in response.json()["response"]["message"]
