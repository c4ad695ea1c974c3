"""Live calls, their statistics and modify_call through the real app: the switch's
LiveChannel rows, LiveStatistics and domain errors as the CPaaS spec's JSON, byte for
byte. The live call is an OTP call to the carrier nobody answers: it stays down."""

from __future__ import annotations

import asyncio
import json
from email.utils import formatdate
from typing import Any

import pytest

from api.cpaas.calls import DONE, control_error
from softswitch.calls import (
    AlreadyRecording,
    BadTransferTarget,
    CallAction,
    CallControlError,
    ChannelNotFound,
    NotBridged,
)
from softswitch.flowmodel import parse_flow
from tests.api.conftest import ACCOUNT_1, ACCOUNT_2

FAR = "919979271234"


def spec_json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


async def get(api_env, path: str, headers=ACCOUNT_1):
    response = await api_env.client.get(path, headers=headers)
    return response.status_code, response.content


async def modify(api_env, body: dict[str, str]):
    response = await api_env.client.post("/api/modify_call", json=body, headers=ACCOUNT_1)
    return response.status_code, response.content


@pytest.fixture
async def otp_call(api_env):
    """A live OTP call whose one channel is ringing at the carrier."""
    calls = api_env.ctx.calls
    task = calls.spawn(
        calls.dial_flow(
            account_id="account_1",
            number=FAR,
            caller_id="15168148111",
            flow=parse_flow([{"type": "hangup"}]),
            variables={},
            request_id="0123456789",
            context="local_call",
            direction="outbound-api",
        )
    )
    for _ in range(200):
        rows = calls.live_calls("account_1")
        if rows:
            break
        await asyncio.sleep(0.01)
    channel = api_env.switch.channels.get(rows[0].channel)
    yield channel
    await channel.hangup()
    await task


async def test_live_calls_and_statistics_as_the_spec_has_them(api_env, otp_call) -> None:
    status, body = await get(api_env, "/api/live_calls")
    assert status == 200
    assert body == spec_json(
        {
            "response": {
                "message": "live calls found",
                "result": [
                    {
                        "channel": otp_call.name,
                        "request_id": "0123456789",
                        "call_type": "otp",
                        "state": "down",
                        "number": FAR,
                        "agent_number": "",
                        "customer_number": FAR,
                        "caller_id": "15168148111",
                        "bridged_channel": "",
                        "start_time": formatdate(otp_call.created_at, usegmt=True),
                    }
                ],
                "success": "true",
            }
        }
    )
    assert otp_call.name.startswith("SIP/carrier-")
    status, body = await get(api_env, "/api/get_live_call_statistics")
    assert (status, body) == (
        200,
        b'{"response":{"result":{"live_calls_c2c":0,"live_calls_campaign":0,'
        b'"live_calls_inbound":0,"live_calls_otp":1},"success":"true"}}',
    )
    assert await get(api_env, "/api/live_calls", ACCOUNT_2) == (
        200,
        b'{"response":{"message":"no live calls","result":[],"success":"true"}}',
    )


async def test_modify_call_answers_as_the_spec_has_it(api_env, otp_call) -> None:
    not_bridged = spec_json(
        {"response": {"message": f"channel {otp_call.name} is not bridged", "success": "false"}}
    )
    assert await modify(api_env, {"channel": otp_call.name, "modify_type": "3"}) == (
        400,
        not_bridged,
    )
    transfer = {"channel": otp_call.name, "modify_type": "0", "transfer_to": "102"}
    assert await modify(api_env, transfer) == (400, not_bridged)
    assert await modify(api_env, {"channel": f" {otp_call.name}", "modify_type": "2"}) == (
        200,
        b'{"response":{"message":"call hangup successfully","success":"true"}}',
    )
    assert otp_call.cause == "hung up by API"
    assert await modify(api_env, {"channel": otp_call.name, "modify_type": "2"}) == (
        404,
        spec_json(
            {"response": {"message": f"channel '{otp_call.name}' not found", "success": "false"}}
        ),
    )
    status, body = await get(api_env, "/api/live_calls")
    assert json.loads(body)["response"]["result"] == []


def test_each_action_has_the_specs_success_message() -> None:
    assert DONE == {
        CallAction.BLIND_TRANSFER: "blind transferred successfully",
        CallAction.ATTENDED_TRANSFER: "attended transfer initiated successfully",
        CallAction.HANGUP: "call hangup successfully",
        CallAction.START_RECORDING: "call recording started successfully",
    }


@pytest.mark.parametrize(
    "error, message, status",
    [
        (ChannelNotFound("SIP/101-0000023c"), "channel 'SIP/101-0000023c' not found", 404),
        (NotBridged("SIP/101-0000023c"), "channel SIP/101-0000023c is not bridged", 400),
        (AlreadyRecording(), "call is already being recorded", 400),
        (BadTransferTarget(None, "no number"), "transfer_to is required for a transfer", 400),
        (BadTransferTarget("77", "no route to '77'"), "no route to '77'", 400),
        (CallControlError("something new"), "something new", 400),
    ],
)
def test_domain_errors_as_the_specs_errors(error, message, status) -> None:
    api_error = control_error(error)
    assert (api_error.message, api_error.status) == (message, status)
