"""`/api/numbers` and `/api/ring_groups`: an account's inbound numbers (DIDs from trunks)
and ring groups, validated by `softswitch.number_book` when saved.

POST   /api/numbers                {"number", "destination", "hours"?, "closed"?}
GET    /api/numbers                every number of the account
GET    /api/numbers/{number}       one number
PATCH  /api/numbers/{number}       the fields given replace the stored ones (null clears)
DELETE /api/numbers/{number}
POST   /api/ring_groups            {"id", "members", "strategy"?, "member_timeout"?,
                                    "timeout"?, "fallback"?}
GET/PATCH/DELETE /api/ring_groups/{id}, GET /api/ring_groups

Errors name the field: "destination: unknown destination ring_group:sales",
"hours.time_zone: unknown time zone 'Mars/Base'", "hours: open[1] overlaps open[0] on mon".
Config-seeded rows are listed with "source": "config" and come back at every start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.openapi.operation import Operation, route
from softswitch.numbers import InboundNumber, NumberError
from softswitch.ringgroups import RingGroup

from .auth import account_of
from .body import parse_json, read_body
from .number_models import NumberCreate, NumberPatch, RingGroupCreate, RingGroupPatch
from .replies import CPAAS, Envelope, Found, Listing, NumberDone, RingGroupDone
from .responses import ApiError, endpoint, ok

if TYPE_CHECKING:
    from api.context import AppContext

MAX_BODY = 64 * 1024


def _body_fields(data: dict[str, Any]) -> dict[str, Any]:
    if "account" in data:
        raise ApiError("account: set by the account header, not the body")
    return data


def routes(ctx: AppContext) -> list[BaseRoute]:
    book = ctx.switch.numbers

    @endpoint
    async def numbers(request: Request) -> Response:
        account = await account_of(request, ctx)
        if request.method == "GET":
            items = [n.model_dump(mode="json", exclude_none=True) for n in book.numbers(account.id)]
            return ok(message="numbers found" if items else "no numbers", result=items)
        data = _body_fields(parse_json(await read_body(request, MAX_BODY)))
        try:
            item = book.put_number(data | {"account": account.id}, replace=False)
        except NumberError as exc:
            raise ApiError(str(exc), 409 if "already in use" in str(exc) else 400) from None
        return ok(message="number added", number=item.number)

    @endpoint
    async def number(request: Request) -> Response:
        account = await account_of(request, ctx)
        key = request.path_params["number"]
        item = book.number(account.id, key)
        if item is None:
            raise ApiError(f"number: no number {key}", 404)
        if request.method == "GET":
            return ok(
                message="number found", result=item.model_dump(mode="json", exclude_none=True)
            )
        if request.method == "DELETE":
            book.delete_number(account.id, key)
            return ok(message="number deleted", number=item.number)
        changes = _body_fields(parse_json(await read_body(request, MAX_BODY)))
        if "number" in changes and changes["number"] != item.number:
            raise ApiError("number: cannot be changed (delete it and add the new one)")
        merged = item.model_dump(mode="json", exclude_none=True) | changes
        merged = {k: v for k, v in merged.items() if v is not None}
        try:
            book.put_number(merged)
        except NumberError as exc:
            raise ApiError(str(exc)) from None
        return ok(message="number modified", number=item.number)

    @endpoint
    async def groups(request: Request) -> Response:
        account = await account_of(request, ctx)
        if request.method == "GET":
            items = [
                g.model_dump(mode="json", exclude_none=True) for g in book.ring_groups(account.id)
            ]
            return ok(message="ring groups found" if items else "no ring groups", result=items)
        data = _body_fields(parse_json(await read_body(request, MAX_BODY)))
        try:
            group = book.put_ring_group(data | {"account": account.id}, replace=False)
        except NumberError as exc:
            raise ApiError(str(exc), 409 if str(exc).endswith(" exists") else 400) from None
        return ok(message="ring group added", id=group.id)

    @endpoint
    async def group(request: Request) -> Response:
        account = await account_of(request, ctx)
        key = request.path_params["group_id"]
        item = book.ring_group(account.id, key)
        if item is None:
            raise ApiError(f"id: no ring group {key}", 404)
        if request.method == "GET":
            return ok(
                message="ring group found", result=item.model_dump(mode="json", exclude_none=True)
            )
        if request.method == "DELETE":
            try:
                book.delete_ring_group(account.id, key)
            except NumberError as exc:
                raise ApiError(str(exc), 409) from None
            return ok(message="ring group deleted", id=item.id)
        changes = _body_fields(parse_json(await read_body(request, MAX_BODY)))
        if "id" in changes and changes["id"] != item.id:
            raise ApiError("id: cannot be changed")
        merged = item.model_dump(mode="json", exclude_none=True) | changes
        merged = {k: v for k, v in merged.items() if v is not None}
        try:
            book.put_ring_group(merged)
        except NumberError as exc:
            raise ApiError(str(exc)) from None
        return ok(message="ring group modified", id=item.id)

    number_key = {"number": "the number's digits"}
    group_key = {"group_id": "the ring group's id"}
    return [
        route(
            "/api/numbers",
            numbers,
            {
                "GET": Operation(
                    "The account's inbound numbers", CPAAS, ok=Envelope[Listing[InboundNumber]]
                ),
                "POST": Operation(
                    "Add an inbound number: where its calls go (kind:target), and with "
                    "business hours where they go when closed",
                    CPAAS,
                    body=NumberCreate,
                    ok=Envelope[NumberDone],
                    errors=(409,),
                    example={"number": "15550100", "destination": "ring_group:sales"},
                ),
            },
        ),
        route(
            "/api/numbers/{number}",
            number,
            {
                "GET": Operation(
                    "One inbound number",
                    CPAAS,
                    ok=Envelope[Found[InboundNumber]],
                    errors=(404,),
                    path_params=number_key,
                ),
                "PATCH": Operation(
                    "Change a number: the fields given replace the stored ones (null clears)",
                    CPAAS,
                    body=NumberPatch,
                    ok=Envelope[NumberDone],
                    errors=(404,),
                    path_params=number_key,
                    example={"destination": "extension:101"},
                ),
                "DELETE": Operation(
                    "Delete a number",
                    CPAAS,
                    ok=Envelope[NumberDone],
                    errors=(404,),
                    path_params=number_key,
                ),
            },
        ),
        route(
            "/api/ring_groups",
            groups,
            {
                "GET": Operation(
                    "The account's ring groups", CPAAS, ok=Envelope[Listing[RingGroup]]
                ),
                "POST": Operation(
                    "Add a ring group",
                    CPAAS,
                    body=RingGroupCreate,
                    ok=Envelope[RingGroupDone],
                    errors=(409,),
                    example={"id": "sales", "members": ["101", "102"], "strategy": "sequential"},
                ),
            },
        ),
        route(
            "/api/ring_groups/{group_id}",
            group,
            {
                "GET": Operation(
                    "One ring group",
                    CPAAS,
                    ok=Envelope[Found[RingGroup]],
                    errors=(404,),
                    path_params=group_key,
                ),
                "PATCH": Operation(
                    "Change a ring group: the fields given replace the stored ones",
                    CPAAS,
                    body=RingGroupPatch,
                    ok=Envelope[RingGroupDone],
                    errors=(404,),
                    path_params=group_key,
                    example={"members": ["101", "102", "103"]},
                ),
                "DELETE": Operation(
                    "Delete a ring group (not while a number routes to it)",
                    CPAAS,
                    ok=Envelope[RingGroupDone],
                    errors=(404, 409),
                    path_params=group_key,
                ),
            },
        ),
    ]
