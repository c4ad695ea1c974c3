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

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from softswitch.numbers import NumberError

from .auth import account_of
from .body import parse_json, read_body
from .responses import ApiError, endpoint, listed, ok

if TYPE_CHECKING:
    from api.context import AppContext

MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class _Kind:
    """What tells /api/numbers from /api/ring_groups; their handlers are the same."""

    path: str  # the collection's path; one item is at path/{key}
    key: str  # the field that names an item, also its path parameter
    singular: str  # "number", "ring group": in the messages
    plural: str
    listed: Callable[[str], list[Any]]  # (account)
    get: Callable[[str, str], BaseModel | None]  # (account, key)
    put: Callable[..., BaseModel]  # (data, replace=...)
    delete: Callable[[str, str], bool]  # (account, key)
    taken: Callable[[str], bool]  # this refusal of a new item is a 409, not a 400
    renamed: str  # the refusal of a PATCH that changes the key


def _body_fields(data: dict[str, Any]) -> dict[str, Any]:
    if "account" in data:
        raise ApiError("account: set by the account header, not the body")
    return data


def _kind_routes(ctx: AppContext, kind: _Kind) -> list[BaseRoute]:
    @endpoint
    async def collection(request: Request) -> Response:
        account = await account_of(request, ctx)
        if request.method == "GET":
            items = [i.model_dump(mode="json", exclude_none=True) for i in kind.listed(account.id)]
            return listed(kind.plural, items)
        data = _body_fields(parse_json(await read_body(request, MAX_BODY)))
        try:
            item = kind.put(data | {"account": account.id}, replace=False)
        except NumberError as exc:
            raise ApiError(str(exc), 409 if kind.taken(str(exc)) else 400) from None
        return ok(message=f"{kind.singular} added", **{kind.key: getattr(item, kind.key)})

    @endpoint
    async def one(request: Request) -> Response:
        account = await account_of(request, ctx)
        key = request.path_params[kind.key]
        item = kind.get(account.id, key)
        if item is None:
            raise ApiError(f"{kind.key}: no {kind.singular} {key}", 404)
        named = {kind.key: getattr(item, kind.key)}
        if request.method == "GET":
            found = item.model_dump(mode="json", exclude_none=True)
            return ok(message=f"{kind.singular} found", result=found)
        if request.method == "DELETE":
            try:
                kind.delete(account.id, key)
            except NumberError as exc:  # a ring group still a destination
                raise ApiError(str(exc), 409) from None
            return ok(message=f"{kind.singular} deleted", **named)
        changes = _body_fields(parse_json(await read_body(request, MAX_BODY)))
        if kind.key in changes and changes[kind.key] != named[kind.key]:
            raise ApiError(kind.renamed)
        merged = item.model_dump(mode="json", exclude_none=True) | changes
        try:
            kind.put({k: v for k, v in merged.items() if v is not None})
        except NumberError as exc:
            raise ApiError(str(exc)) from None
        return ok(message=f"{kind.singular} modified", **named)

    return [
        Route(kind.path, collection, methods=["GET", "POST"]),
        Route(f"{kind.path}/{{{kind.key}}}", one, methods=["GET", "PATCH", "DELETE"]),
    ]


def routes(ctx: AppContext) -> list[BaseRoute]:
    book = ctx.switch.numbers
    numbers = _Kind(
        "/api/numbers",
        "number",
        "number",
        "numbers",
        book.numbers,
        book.number,
        book.put_number,
        book.delete_number,
        lambda refusal: "already in use" in refusal,
        "number: cannot be changed (delete it and add the new one)",
    )
    groups = _Kind(
        "/api/ring_groups",
        "id",
        "ring group",
        "ring groups",
        book.ring_groups,
        book.ring_group,
        book.put_ring_group,
        book.delete_ring_group,
        lambda refusal: refusal.endswith(" exists"),
        "id: cannot be changed",
    )
    return _kind_routes(ctx, numbers) + _kind_routes(ctx, groups)
