"""Node to node, beside the documented APIs, served only with [cluster] front_doors set
and only to a request signed with the cluster's secret:

- `POST /cluster/modify_call`: a live-call command another node forwards to this one,
  the node holding the call (softswitch.cluster.forwarding). It acts on this node's own
  calls (no second forwarding) and answers the outcome for the forwarding node to turn
  into its API's reply.
- `POST /cluster/live_calls`: this node's own live calls of an account and their counts,
  for a node listing the whole cluster's (softswitch.cluster.listing).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from softswitch.calls import CallAction, CallControlError
from softswitch.cluster import listing
from softswitch.cluster.forwarding import HEADER, PATH, ClusterAuthError, check, outcome

if TYPE_CHECKING:
    from api.context import AppContext

log = logging.getLogger("api.cluster")


def routes(ctx: AppContext) -> list[BaseRoute]:
    cluster = ctx.config.cluster
    if not cluster.enabled:
        return []

    async def signed(request: Request) -> bytes | None:
        """The request's body, or None when its signature is missing or wrong."""
        body = await request.body()
        try:
            check(cluster.secret, request.headers.get(HEADER), body)
        except ClusterAuthError as exc:
            log.warning("cluster request from %s refused: %s", request.client, exc)
            return None
        return body

    async def modify_call(request: Request) -> JSONResponse:
        body = await signed(request)
        if body is None:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            command: dict[str, Any] = json.loads(body)
            account_id = str(command["account_id"])
            channel = str(command["channel"])
            action = CallAction(int(command["action"]))
            number = command.get("number")
            number = None if number is None else str(number)
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "bad request"}, status_code=400)
        try:
            await ctx.calls.modify_local(account_id, channel, action, number)
        except CallControlError as exc:
            return JSONResponse(outcome(exc))
        return JSONResponse(outcome(None))

    async def live_calls(request: Request) -> JSONResponse:
        body = await signed(request)
        if body is None:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            account_id = str(json.loads(body)["account_id"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "bad request"}, status_code=400)
        return JSONResponse(listing.local_json(ctx.calls.calls, account_id))

    return [
        Route(PATH, modify_call, methods=["POST"]),
        Route(listing.PATH, live_calls, methods=["POST"]),
    ]
