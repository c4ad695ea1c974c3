"""Live calls: the account's channels, kept current over Server-Sent Events, and the
buttons of the CPaaS call API (click2call, hang up, transfer, record).

The event stream polls the live-call registry (`CallService.all_live_calls`: every
node's in a cluster) every `POLL_SECONDS` and sends the rendered table body only when it
changed. It does not
keep the session alive (only a person's clicks do), ends when the session expires or
the switch stops (a server shutdown never waits on an open console), and after
`STREAM_SECONDS` at most (the browser reconnects by itself).

The buttons go through the same models, number checks and call-service methods as
``/api/click2call`` and ``/api/modify_call``, with the same messages.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from api.cpaas.body import validate
from api.cpaas.calls import DONE, control_error
from api.cpaas.models import Click2CallRequest, ModifyCall, recording
from api.cpaas.numbers import check_dialable
from softswitch.calls import CallAction, CallControlError
from softswitch.switch import SwitchError

from .security import Refused, Visitor, visitor
from .web import SECURITY_HEADERS, ActionError, Console

POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0  # a comment line now and then keeps proxies from closing it
STREAM_SECONDS = 300.0
RECORDING_OPTIONS = ("off", "both", "agent", "customer")


def routes(console: Console) -> list[BaseRoute]:
    ctx = console.ctx

    async def table(who: Visitor) -> tuple[str, int]:
        rows = await ctx.calls.all_live_calls(who.account_id)
        html = console.fragment("live_rows.html", rows=rows, csrf_token=who.session.csrf_token)
        return html, len(rows)

    @console.page
    async def page(request: Request, who: Visitor) -> Response:
        rows, count = await table(who)
        return console.render(
            request,
            "live.html",
            who,
            rows_html=rows,
            count=count,
            recording_options=RECORDING_OPTIONS,
        )

    async def events(request: Request) -> Response:
        try:
            who = visitor(request, console.sessions, touch=False)
        except Refused as exc:
            return JSONResponse({"ok": False, "message": exc.message}, exc.status)

        async def stream() -> AsyncIterator[str]:
            loop = asyncio.get_running_loop()
            end = loop.time() + STREAM_SECONDS
            last, quiet_since = "", loop.time()
            yield "retry: 2000\n\n"
            while ctx.switch.started and loop.time() < end:
                if console.sessions.get(who.session_id, touch=False) is None:
                    yield "event: expired\ndata: {}\n\n"
                    return
                rows, count = await table(who)
                if rows != last:
                    last, quiet_since = rows, loop.time()
                    yield f"event: calls\ndata: {json.dumps({'html': rows, 'count': count})}\n\n"
                elif loop.time() - quiet_since > KEEPALIVE_SECONDS:
                    quiet_since = loop.time()
                    yield ": keepalive\n\n"
                await asyncio.sleep(POLL_SECONDS)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={**SECURITY_HEADERS, "X-Accel-Buffering": "no"},
        )

    @console.action(back="/console/live")
    async def click2call(request: Request, who: Visitor, form: dict[str, str]) -> str:
        body = validate(Click2CallRequest, {**form, "transcript": "off"})
        agent = check_dialable(ctx, "agent_number", body.agent_number)
        destination = check_dialable(ctx, "destination_number", body.destination_number)
        try:
            request_id = await ctx.calls.click2call(
                account_id=who.account_id,
                agent_number=agent,
                destination_number=destination,
                caller_id=body.caller_id,
                recording_option=recording(body.recording_option),
                transcript=False,
            )
        except SwitchError as exc:
            raise ActionError(f"cannot dial: {exc}") from None
        return f"click2call {request_id} started: ringing {agent}"

    @console.action(back="/console/live")
    async def modify(request: Request, who: Visitor, form: dict[str, str]) -> str:
        body = validate(ModifyCall, {k: v for k, v in form.items() if v != ""})
        action = CallAction(body.modify_type)
        number = None
        if action in (CallAction.BLIND_TRANSFER, CallAction.ATTENDED_TRANSFER):
            if body.transfer_to is None:
                raise ActionError("transfer_to: enter the number to transfer to")
            number = check_dialable(ctx, "transfer_to", body.transfer_to)
        try:
            await ctx.calls.modify_call(who.account_id, body.channel.strip(), action, number)
        except CallControlError as exc:
            error = control_error(exc)
            raise ActionError(error.message, error.status) from None
        return f"{body.channel.strip()}: {DONE[action]}"

    return [
        Route("/console/live", page, methods=["GET"]),
        Route("/console/live/events", events, methods=["GET"]),
        Route("/console/live/click2call", click2call, methods=["POST"]),
        Route("/console/live/modify", modify, methods=["POST"]),
    ]
