"""Times every HTTP request into the metrics' histogram, labelled by the route's path
template (``/api/numbers/{number}``), never the raw path: one series per route, however
many numbers are asked for. Requests no route matched count as ``unmatched``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from prometheus_client import Histogram

UNMATCHED = "unmatched"


class RouteLatency:
    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception with nothing sent becomes a 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # the router records the route it matched in the scope it was given
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            self.histogram.labels(scope["method"], template, f"{status // 100}xx").observe(
                time.perf_counter() - started
            )
