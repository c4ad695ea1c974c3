"""The HTTP API application (Starlette). Route handlers stay thin: validate, call the switch."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from . import calls, cpaas
from .context import AppContext


def create_app(ctx: AppContext) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        body = ctx.switch.health()
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    routes: list[BaseRoute] = [Route("/health", health, methods=["GET"])]
    routes += cpaas.routes(ctx)  # CPaaS API, campaign manager included
    routes += calls.routes(ctx)  # JAICP Calls API
    return Starlette(routes=routes)
