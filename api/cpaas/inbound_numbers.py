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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
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
from .responses import ApiError, Handler, endpoint, ok

if TYPE_CHECKING:
    from api.context import AppContext

MAX_BODY = 64 * 1024


def _body_fields(data: dict[str, Any]) -> dict[str, Any]:
    if "account" in data:
        raise ApiError("account: set by the account header, not the body")
    return data


@dataclass(frozen=True, slots=True)
class _Kind:
    """One kind of the account's routing items (numbers, ring groups): what the two
    generic handlers below need to list, add, read, change and delete it."""

    noun: str  # "number", in messages
    plural: str
    key: str  # the field that names an item, in bodies and replies
    path_param: str
    listing: Callable[[str], Sequence[BaseModel]]
    one: Callable[[str, str], BaseModel | None]
    put: Callable[..., BaseModel]
    delete: Callable[[str, str], bool]
    taken: Callable[[str], bool]  # a put's error that says the key is taken (409)
    renamed: str  # the error for a PATCH that changes the key

    def key_of(self, item: BaseModel) -> Any:
        return getattr(item, self.key)


def _handlers(ctx: AppContext, kind: _Kind) -> tuple[Handler, Handler]:
    """The collection handler (GET lists, POST adds) and the member handler (GET, PATCH,
    DELETE) of ``kind``."""

    @endpoint
    async def collection(request: Request) -> Response:
        account = await account_of(request, ctx)
        if request.method == "GET":
            items = [i.model_dump(mode="json", exclude_none=True) for i in kind.listing(account.id)]
            found = f"{kind.plural} found" if items else f"no {kind.plural}"
            return ok(message=found, result=items)
        data = _body_fields(parse_json(await read_body(request, MAX_BODY)))
        try:
            item = kind.put(data | {"account": account.id}, replace=False)
        except NumberError as exc:
            raise ApiError(str(exc), 409 if kind.taken(str(exc)) else 400) from None
        return ok(message=f"{kind.noun} added", **{kind.key: kind.key_of(item)})

    @endpoint
    async def member(request: Request) -> Response:
        account = await account_of(request, ctx)
        key = request.path_params[kind.path_param]
        item = kind.one(account.id, key)
        if item is None:
            raise ApiError(f"{kind.key}: no {kind.noun} {key}", 404)
        named = {kind.key: kind.key_of(item)}
        if request.method == "GET":
            dump = item.model_dump(mode="json", exclude_none=True)
            return ok(message=f"{kind.noun} found", result=dump)
        if request.method == "DELETE":
            try:
                kind.delete(account.id, key)
            except NumberError as exc:  # still the destination of another item
                raise ApiError(str(exc), 409) from None
            return ok(message=f"{kind.noun} deleted", **named)
        changes = _body_fields(parse_json(await read_body(request, MAX_BODY)))
        if kind.key in changes and changes[kind.key] != named[kind.key]:
            raise ApiError(kind.renamed)
        merged = item.model_dump(mode="json", exclude_none=True) | changes
        try:
            kind.put({k: v for k, v in merged.items() if v is not None})
        except NumberError as exc:
            raise ApiError(str(exc)) from None
        return ok(message=f"{kind.noun} modified", **named)

    return collection, member


def routes(ctx: AppContext) -> list[BaseRoute]:
    book = ctx.switch.numbers
    numbers, number = _handlers(
        ctx,
        _Kind(
            noun="number",
            plural="numbers",
            key="number",
            path_param="number",
            listing=book.numbers,
            one=book.number,
            put=book.put_number,
            delete=book.delete_number,
            taken=lambda error: "already in use" in error,
            renamed="number: cannot be changed (delete it and add the new one)",
        ),
    )
    groups, group = _handlers(
        ctx,
        _Kind(
            noun="ring group",
            plural="ring groups",
            key="id",
            path_param="group_id",
            listing=book.ring_groups,
            one=book.ring_group,
            put=book.put_ring_group,
            delete=book.delete_ring_group,
            taken=lambda error: error.endswith(" exists"),
            renamed="id: cannot be changed",
        ),
    )

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
