"""CDR queries and call statistics, shaped as the spec's examples."""

from __future__ import annotations

import json
from calendar import timegm
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.httpdate import http_date
from api.openapi.operation import Operation, route
from softswitch.store.cdrs import Cdr, CdrStore

from .auth import account_of
from .body import parse_body
from .models import CdrByDate, RequestIdBody
from .replies import CPAAS, CdrStatisticsReply, Envelope, Listing
from .replies import Cdr as CdrReply
from .responses import ApiError, endpoint, ok

if TYPE_CHECKING:
    from api.context import AppContext

# the statistics keys of get_cdr_statistics (get_campaign_cdr_statistics adds dnd_calls)
CDR_STATISTICS = (
    "answer_calls",
    "busy_calls",
    "cancel_calls",
    "chanunavail_calls",
    "congestion_calls",
    "noanswer_calls",
    "total_calls",
)


def cdr_json(cdr: Cdr, *, campaign: bool = False) -> dict[str, Any]:
    """One CDR as the spec shows it; ``campaign`` adds ``is_dnd`` and ``list_id``."""
    row: dict[str, Any] = {
        "account_id": cdr.account_id,
        "agent_number": cdr.agent_number,
        "answer": http_date(cdr.answer),
        # not in the spec: who answered, when the call asked for answering-machine detection
        "answered_by": cdr.answered_by,
        "billsec": cdr.billsec,
        "call_date": http_date(cdr.call_date),
        "call_direction": cdr.call_direction,
        "call_duration": cdr.call_duration,
        "call_status": cdr.call_status,
        "caller_id": cdr.caller_id,
        "customer_number": cdr.customer_number,
        "destination_context": cdr.destination_context,
        "dial_status": cdr.dial_status,
        "dialed_number": cdr.dialed_number,
        "dtmf_inputs": cdr.dtmf_inputs,
        "end": http_date(cdr.end),
        "id": cdr.id,
    }
    if campaign:
        row["is_dnd"] = "1" if cdr.is_dnd else "0"
        row["list_id"] = cdr.list_id
    row["recording_name"] = cdr.recording_name
    # campaign calls have no request of the client's to refer to (the spec shows "")
    row["request_id"] = "" if campaign else cdr.request_id
    row["transcript"] = cdr.transcript
    row["uniqueid"] = cdr.uniqueid
    if cdr.speech_inputs:  # only calls whose flow asked: other rows keep the spec's shape
        row["speech_inputs"] = json.loads(cdr.speech_inputs)
    return row


def found(rows: list[Cdr], *, campaign: bool = False) -> Response:
    if not rows:
        raise ApiError("cdr not found", 404)
    return ok(message="cdr found", result=[cdr_json(r, campaign=campaign) for r in rows])


def statistics_json(
    counts: dict[str, int], keys: tuple[str, ...] = CDR_STATISTICS
) -> dict[str, list[int]]:
    # the spec wraps every count in a one-element list
    return {key: [counts.get(key, 0)] for key in keys}


def routes(ctx: AppContext) -> list[BaseRoute]:
    store = CdrStore(ctx.store.db)

    @endpoint
    async def by_date(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, CdrByDate)
        start, end = body.window()
        if end <= start:
            raise ApiError("end_call_date: must not be before start_call_date")
        # the dates are UTC, like the CDR times
        rows = store.by_date(
            account.id,
            timegm(start.timetuple()),
            timegm(end.timetuple()),
            body.record_count,
            body.offset,
        )
        return found(rows)

    @endpoint
    async def by_request_id(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, RequestIdBody)
        return found(store.by_request_id(account.id, body.request_id))

    @endpoint
    async def statistics(request: Request) -> Response:
        account = await account_of(request, ctx)
        return ok(result=statistics_json(store.statistics(account.id)))

    return [
        route(
            "/api/get_cdr_by_date",
            by_date,
            {
                "POST": Operation(
                    "CDRs of calls started between two dates (UTC; the end date inclusive)",
                    CPAAS,
                    body=CdrByDate,
                    ok=Envelope[Listing[CdrReply]],
                    errors=(404,),
                    example={
                        "start_call_date": "2023-06-13",
                        "end_call_date": "2023-06-17",
                        "record_count": "5",
                        "offset": "1",
                    },
                )
            },
        ),
        route(
            "/api/get_cdr_by_request_id",
            by_request_id,
            {
                "POST": Operation(
                    "The CDRs of one request (click2call, OTP call)",
                    CPAAS,
                    body=RequestIdBody,
                    ok=Envelope[Listing[CdrReply]],
                    errors=(404,),
                    example={"request_id": "91da7c083f"},
                )
            },
        ),
        route(
            "/api/get_cdr_statistics",
            statistics,
            {
                "GET": Operation(
                    "Call counts by outcome",
                    CPAAS,
                    ok=Envelope[CdrStatisticsReply],
                    ok_example={
                        "response": {
                            "result": {
                                "answer_calls": [248],
                                "busy_calls": [0],
                                "cancel_calls": [13],
                                "chanunavail_calls": [35],
                                "congestion_calls": [0],
                                "noanswer_calls": [13],
                                "total_calls": [434],
                            },
                            "success": "true",
                        }
                    },
                )
            },
        ),
    ]
