"""Live calls: click2call, OTP announcement calls, live-call control and statistics."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from media.voice import TtsEngineError, TtsError
from softswitch.calls import CallControlError, new_request_id
from softswitch.flow import prepare
from softswitch.flowmodel import Flow, FlowError, parse_flow
from softswitch.store.templates import TemplateStore
from softswitch.switch import SwitchError

from .auth import account_of
from .body import parse_body
from .models import Click2Call, ModifyCall, OutboundCall, recording
from .numbers import check_dialable
from .responses import ApiError, endpoint, ok
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


def routes(ctx: AppContext) -> list[BaseRoute]:
    templates = TemplateStore(ctx.store.db)

    @endpoint
    async def click2call(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, Click2Call)
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
            )
        )
        return ok(request_id=request_id)

    @endpoint
    async def modify_call(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, ModifyCall)
        number = None
        if body.modify_type in (0, 1):
            if body.transfer_to is None:
                raise ApiError("transfer_to: field required for a transfer")
            number = check_dialable(ctx, "transfer_to", body.transfer_to)
        try:
            message = await ctx.calls.modify_call(
                account.id, body.channel.strip(), body.modify_type, number
            )
        except CallControlError as exc:
            raise ApiError(exc.message, exc.status) from None
        return ok(message=message or "call modified successfully")

    @endpoint
    async def live_calls(request: Request) -> Response:
        account = await account_of(request, ctx)
        rows = ctx.calls.live_calls(account.id)
        return ok(message="live calls found" if rows else "no live calls", result=rows)

    @endpoint
    async def live_statistics(request: Request) -> Response:
        account = await account_of(request, ctx)
        return ok(result=ctx.calls.live_statistics(account.id))

    return [
        Route("/api/click2call", click2call, methods=["POST"]),
        Route("/api/outbound_call", outbound_call, methods=["POST"]),
        Route("/api/modify_call", modify_call, methods=["POST"]),
        Route("/api/live_calls", live_calls, methods=["GET"]),
        Route("/api/get_live_call_statistics", live_statistics, methods=["GET"]),
    ]
