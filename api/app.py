"""The HTTP API application (Starlette). Route handlers stay thin: validate, call the switch."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute

from api.openapi.operation import Operation, route
from media.engines import EngineStatus

from . import admin, calls, cluster, console, cpaas, metrics
from .context import AppContext
from .health_models import HEALTH, Health
from .latency import RouteLatency
from .openapi import docs


def create_app(ctx: AppContext) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        body = ctx.switch.health()
        # A missing speech engine leaves the switch up (calls still connect): it shows
        # here, beside an unchanged status.
        body["engines"] = {status.feature: _engine_body(status) for status in ctx.engines}
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    routes: list[BaseRoute] = [
        route("/health", health, {"GET": Operation("Is the switch up", HEALTH, ok=Health)})
    ]
    routes += cpaas.routes(ctx)  # CPaaS API, campaign manager included
    routes += calls.routes(ctx)  # JAICP Calls API
    routes += admin.routes(ctx)  # the operator's admin API
    routes += cluster.routes(ctx)  # node-to-node live-call commands, in a cluster
    routes += console.routes(ctx)  # the web console: / and /console/*
    routes += metrics.routes(ctx.metrics, ctx.config.metrics)  # /metrics, with a token
    routes += docs.routes()  # /openapi.json (of every route above) and /docs
    middleware = []
    if ctx.metrics is not None:
        middleware.append(Middleware(RouteLatency, histogram=ctx.metrics.api_seconds))
    return Starlette(routes=routes, middleware=middleware)


def _engine_body(status: EngineStatus) -> dict[str, object]:
    if status.ok:
        return {"engine": status.engine, "ok": True}
    return {"engine": status.engine, "ok": False, "reason": status.problem}
