"""The HTTP API application (Starlette). Route handlers stay thin: validate, call the switch."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from softswitch.switch import Switch


def create_app(switch: Switch) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        body = switch.health()
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    return Starlette(routes=[Route("/health", health, methods=["GET"])])
