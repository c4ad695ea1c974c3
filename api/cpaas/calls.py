"""Live calls: click2call, OTP announcement calls, live-call control and statistics."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.httpdate import http_date
from api.openapi.operation import Operation, route
from media.voice import TtsEngineError, TtsError
from softswitch.answering import AmdMode
from softswitch.calls import (
    AlreadyRecording,
    BadTransferTarget,
    CallAction,
    CallControlError,
    ChannelNotFound,
    LiveChannel,
    LiveStatistics,
    NotBridged,
    new_request_id,
)
from softswitch.flow import prepare
from softswitch.flowmodel import Flow, FlowError, parse_flow
from softswitch.store.templates import TemplateStore
from softswitch.switch import SwitchError

from .auth import account_of
from .body import parse_body
from .models import Click2CallRequest, ModifyCall, OutboundCall, recording
from .numbers import check_dialable
from .replies import (
    CPAAS,
    Done,
    Envelope,
    Listing,
    LiveCall,
    LiveStatisticsReply,
    RequestIdReply,
)
from .responses import ApiError, endpoint, listed, ok
from .voice import voice_fields

if TYPE_CHECKING:
    from api.context import AppContext

log = logging.getLogger("api.cpaas.calls")


def otp_flow(text: str, repeat: int, voice: dict[str, str]) -> Flow:
    """The OTP announcement: the template said ``repeat`` times, the OTP spelled out."""
    return parse_flow(
        [
            {
                "type": "say",
                "text": text,
                "spell": ["otp"],
                "repeat": repeat,
                "pause_ms": 700,
                **voice,
            },
            {"type": "hangup"},
        ]
    )


# modify_call's answer for each action done
DONE = {
    CallAction.BLIND_TRANSFER: "blind transferred successfully",
    CallAction.ATTENDED_TRANSFER: "attended transfer initiated successfully",
    CallAction.HANGUP: "call hangup successfully",
    CallAction.START_RECORDING: "call recording started successfully",
}


def control_error(exc: CallControlError) -> ApiError:
    """The spec's error for a modify_call the switch refused."""
    if isinstance(exc, ChannelNotFound):
        return ApiError(f"channel {exc.channel!r} not found", 404)
    if isinstance(exc, NotBridged):
        return ApiError(f"channel {exc.channel} is not bridged")
    if isinstance(exc, AlreadyRecording):
        return ApiError("call is already being recorded")
    if isinstance(exc, BadTransferTarget):
        if exc.number is None:
            return ApiError("transfer_to is required for a transfer")
        return ApiError(exc.reason)
    return ApiError(str(exc))


def live_channel_json(row: LiveChannel) -> dict[str, object]:
    return {
        "channel": row.channel,
        "request_id": row.request_id,
        "call_type": row.kind.value,
        "state": row.state.value,
        "number": row.number,
        "agent_number": row.agent_number,
        "customer_number": row.customer_number,
        "caller_id": row.caller_id,
        "bridged_channel": row.bridged_channel,
        "start_time": http_date(row.started_at),
    }


def live_statistics_json(stats: LiveStatistics) -> dict[str, int]:
    return {
        "live_calls_c2c": stats.c2c,
        "live_calls_campaign": stats.campaign,
        "live_calls_inbound": stats.inbound,
        "live_calls_otp": stats.otp,
    }


def routes(ctx: AppContext) -> list[BaseRoute]:
    templates = TemplateStore(ctx.store.db)

    @endpoint
    async def click2call(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, Click2CallRequest)
        agent = check_dialable(ctx, "agent_number", body.agent_number)
        destination = check_dialable(ctx, "destination_number", body.destination_number)
        try:
            request_id = await ctx.calls.click2call(
                account_id=account.id,
                agent_number=agent,
                destination_number=destination,
                caller_id=body.caller_id,
                recording_option=recording(body.recording_option),
                transcript=body.transcript == "on",
            )
        except SwitchError as exc:
            raise ApiError(f"cannot dial: {exc}") from None
        return ok(request_id=request_id)

    @endpoint
    async def outbound_call(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, OutboundCall)
        template = templates.get(account.id, body.announce_template_id)
        if template is None:
            raise ApiError(
                f"announce_template_id: no template {body.announce_template_id} for this account",
                404,
            )
        voice = voice_fields(body)
        try:
            flow = otp_flow(template.text, body.repeat, voice)
        except FlowError as exc:
            raise ApiError(f"announcement: {exc}") from None
        number = check_dialable(ctx, "customer_number", body.customer_number)
        variables = {"otp": body.otp}
        audio = ctx.calls.flow_audio(account.id)
        # The announcement is synthesized before answering, so a failure is the client's
        # answer rather than a silent call.
        try:
            await prepare(flow, variables, audio)
        except TtsError as exc:
            raise ApiError(str(exc)) from None
        except TtsEngineError as exc:
            raise ApiError(f"speech synthesis unavailable: {exc}", 503) from None
        request_id = new_request_id()
        # the call service owns the task: a shutdown waits for its CDR
        ctx.calls.spawn(
            ctx.calls.dial_flow(
                account_id=account.id,
                number=number,
                caller_id=body.caller_id,
                flow=flow,
                variables=variables,
                request_id=request_id,
                context="local_call",
                direction="outbound-api",
                audio=audio,
                amd=AmdMode(body.amd),
            )
        )
        return ok(request_id=request_id)

    @endpoint
    async def modify_call(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, ModifyCall)
        action = CallAction(body.modify_type)
        number = None
        if action in (CallAction.BLIND_TRANSFER, CallAction.ATTENDED_TRANSFER):
            if body.transfer_to is None:
                raise ApiError("transfer_to: field required for a transfer")
            number = check_dialable(ctx, "transfer_to", body.transfer_to)
        try:
            await ctx.calls.modify_call(account.id, body.channel.strip(), action, number)
        except CallControlError as exc:
            raise control_error(exc) from None
        return ok(message=DONE[action])

    @endpoint
    async def live_calls(request: Request) -> Response:
        account = await account_of(request, ctx)
        rows = [live_channel_json(row) for row in await ctx.calls.all_live_calls(account.id)]
        return listed("live calls", rows)

    @endpoint
    async def live_statistics(request: Request) -> Response:
        account = await account_of(request, ctx)
        stats = await ctx.calls.all_live_statistics(account.id)
        return ok(result=live_statistics_json(stats))

    return [
        route(
            "/api/click2call",
            click2call,
            {
                "POST": Operation(
                    "Click to call: dial the agent, then bridge the destination",
                    CPAAS,
                    body=Click2CallRequest,
                    ok=Envelope[RequestIdReply],
                    example=CLICK2CALL_EXAMPLE,
                    ok_example={"response": {"request_id": "57362de4f0", "success": "true"}},
                )
            },
        ),
        route(
            "/api/outbound_call",
            outbound_call,
            {
                "POST": Operation(
                    "One time password: call the customer and announce the OTP",
                    CPAAS,
                    body=OutboundCall,
                    ok=Envelope[RequestIdReply],
                    errors=(404, 503),
                    example=OTP_EXAMPLE,
                    ok_example={"response": {"request_id": "ae63e9576e", "success": "true"}},
                )
            },
        ),
        route(
            "/api/modify_call",
            modify_call,
            {
                "POST": Operation(
                    "Modify a live call: 0 blind transfer, 1 attended transfer, 2 hangup, "
                    "3 start recording",
                    CPAAS,
                    body=ModifyCall,
                    ok=Envelope[Done],
                    errors=(404,),
                    example={
                        "channel": " PJSIP/101-0000023c",
                        "modify_type": "0",
                        "transfer_to": "102",
                    },
                    ok_example={
                        "response": {"message": "blind transferred successfully", "success": "true"}
                    },
                )
            },
        ),
        route(
            "/api/live_calls",
            live_calls,
            {
                "GET": Operation(
                    "The account's live channels", CPAAS, ok=Envelope[Listing[LiveCall]]
                )
            },
        ),
        route(
            "/api/get_live_call_statistics",
            live_statistics,
            {
                "GET": Operation(
                    "Live calls by kind",
                    CPAAS,
                    ok=Envelope[LiveStatisticsReply],
                    ok_example={
                        "response": {
                            "result": {
                                "live_calls_c2c": 0,
                                "live_calls_campaign": 0,
                                "live_calls_inbound": 0,
                                "live_calls_otp": 0,
                            },
                            "success": "true",
                        }
                    },
                )
            },
        ),
    ]


# the specs' own examples (cpaas-api.txt)
CLICK2CALL_EXAMPLE = {
    "agent_number": "91997927XXXX",
    "caller_id": "15168148111",
    "destination_number": "91800068XXXX",
    "recording_option": "on",
    "transcript": "on",
}
OTP_EXAMPLE = {
    "customer_number": "91997927XXXX",
    "otp": "1987",
    "announce_template_id": "AN2222314c96",
    "repeat": "1",
    "caller_id": "15168148111",
    "voice": "Raveena",
    "volume": "soft",
    "rate": "slow",
    "pitch": "medium",
    "language_code": "en-US",
    "tts_engine_type": "standard",
}
