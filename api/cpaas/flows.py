"""`/api/flows`: an account's call flows (FL...), validated by `parse_flow` when saved.

POST   /api/flows            {"flow_name": ..., "flow": [steps]}  -> flow_id
GET    /api/flows            every flow of the account
GET    /api/flows/{flow_id}  one flow
PUT    /api/flows/{flow_id}  {"flow_name": ..., "flow": [steps]}  (replaces it)
DELETE /api/flows/{flow_id}
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.openapi.operation import Operation, route
from softswitch.destination import DestinationKind
from softswitch.flowmodel import FlowError, destinations, parse_flow
from softswitch.numbers import NumberError
from softswitch.store.flows import DuplicateFlowName, FlowStore, StoredFlow

from .auth import account_of
from .body import parse_body
from .models import FlowBody
from .replies import CPAAS, Envelope, FlowDone, FlowId, Found, Listing
from .replies import StoredFlow as FlowReply
from .responses import ApiError, endpoint, listed, ok

if TYPE_CHECKING:
    from api.context import AppContext

MAX_FLOW_BODY = 512 * 1024


def flow_json(item: StoredFlow) -> dict[str, Any]:
    try:
        variables = sorted(parse_flow(item.steps).fields())
    except FlowError:  # saved under older rules: still listed, so it can be fixed
        variables = []
    return {"flow_id": item.id, "flow_name": item.name, "flow": item.steps, "variables": variables}


def validated(ctx: AppContext, account_id: str, steps: list[Any]) -> list[dict[str, Any]]:
    """The flow as saved; ApiError naming the step and field of the first problem, a
    route or menu option naming a destination that does not exist included."""
    try:
        flow = parse_flow(steps)
        for where, destination in destinations(flow.steps):
            ctx.switch.numbers.directory.check(where, destination, account_id)
    except (FlowError, NumberError) as exc:
        raise ApiError(f"flow: {exc}") from None
    return flow.to_json()


def routes(ctx: AppContext) -> list[BaseRoute]:
    store = FlowStore(ctx.store.db)

    def one(account_id: str, request: Request) -> StoredFlow:
        flow_id = request.path_params["flow_id"]
        item = store.get(account_id, flow_id)
        if item is None:
            raise ApiError(f"flow_id: no flow {flow_id}", 404)
        return item

    @endpoint
    async def collection(request: Request) -> Response:
        account = await account_of(request, ctx)
        if request.method == "GET":
            items = [flow_json(f) for f in store.all(account.id)]
            return listed("flows", items)
        body = await parse_body(request, FlowBody, MAX_FLOW_BODY)
        steps = validated(ctx, account.id, body.flow)
        try:
            item = store.create(account.id, body.flow_name.strip(), steps, time.time())
        except DuplicateFlowName:
            raise ApiError(f"flow_name: a flow named {body.flow_name!r} exists", 409) from None
        return ok(flow_id=item.id)

    @endpoint
    async def member(request: Request) -> Response:
        account = await account_of(request, ctx)
        item = one(account.id, request)
        if request.method == "GET":
            return ok(message="flow found", result=flow_json(item))
        # numbers and ring groups name flows by id or name: neither may vanish under them
        users = ctx.switch.numbers.users(account.id, DestinationKind.FLOW, {item.id, item.name})
        if request.method == "DELETE":
            if users:
                raise ApiError(f"flow_id: flow {item.id} is the destination of {users[0]}", 409)
            store.delete(account.id, item.id)
            return ok(message="flow deleted successfully", flow_id=item.id)
        body = await parse_body(request, FlowBody, MAX_FLOW_BODY)
        if users and body.flow_name.strip() != item.name:
            raise ApiError(f"flow_name: flow {item.name!r} is the destination of {users[0]}", 409)
        steps = validated(ctx, account.id, body.flow)
        try:
            store.update(account.id, item.id, body.flow_name.strip(), steps, time.time())
        except DuplicateFlowName:
            raise ApiError(f"flow_name: a flow named {body.flow_name!r} exists", 409) from None
        return ok(message="flow modified successfully", flow_id=item.id)

    example = {
        "flow_name": "greeting",
        "flow": [{"type": "say", "text": "Hello {name}"}, {"type": "hangup"}],
    }
    one_id = {"flow_id": "the flow's id (FL + 10 hex)"}
    return [
        route(
            "/api/flows",
            collection,
            {
                "GET": Operation(
                    "The account's call flows", CPAAS, ok=Envelope[Listing[FlowReply]]
                ),
                "POST": Operation(
                    "Save a call flow (validated: the error names the step and field)",
                    CPAAS,
                    body=FlowBody,
                    ok=Envelope[FlowId],
                    errors=(409,),
                    example=example,
                ),
            },
        ),
        route(
            "/api/flows/{flow_id}",
            member,
            {
                "GET": Operation(
                    "One call flow",
                    CPAAS,
                    ok=Envelope[Found[FlowReply]],
                    errors=(404,),
                    path_params=one_id,
                ),
                "PUT": Operation(
                    "Replace a call flow",
                    CPAAS,
                    body=FlowBody,
                    ok=Envelope[FlowDone],
                    errors=(404, 409),
                    path_params=one_id,
                    example=example,
                ),
                "DELETE": Operation(
                    "Delete a call flow (not while a number or ring group routes to it)",
                    CPAAS,
                    ok=Envelope[FlowDone],
                    errors=(404, 409),
                    path_params=one_id,
                ),
            },
        ),
    ]
