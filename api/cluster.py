"""`POST /cluster/modify_call`: a live-call command another node of the cluster
forwards to this one, the node holding the call (softswitch.cluster.forwarding).

Not part of either spec's API: served only with [cluster] front_doors set, and only to
a request signed with the cluster's secret; it acts on this node's own calls (no second
forwarding) and answers the outcome for the forwarding node to turn into its API's reply.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from softswitch.calls import CallAction, CallControlError
from softswitch.cluster.forwarding import HEADER, PATH, ClusterAuthError, check, outcome

if TYPE_CHECKING:
    from api.context import AppContext

log = logging.getLogger("api.cluster")


def routes(ctx: AppContext) -> list[BaseRoute]:
    cluster = ctx.config.cluster
    if not cluster.enabled:
        return []

    async def modify_call(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            check(cluster.secret, request.headers.get(HEADER), body)
        except ClusterAuthError as exc:
            log.warning("cluster request from %s refused: %s", request.client, exc)
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

    return [Route(PATH, modify_call, methods=["POST"])]
