"""Trunks: the account's trunks (``[[trunks]] account``): registration state, last
error, and whether the carrier answers the keepalive pings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .security import Visitor
from .web import Console


def routes(console: Console) -> list[BaseRoute]:
    switch = console.ctx.switch

    @console.page
    async def listing(request: Request, who: Visitor) -> Response:
        trunks = [t for t in switch.trunks if t.config.account == who.account_id]
        return console.render(request, "trunks.html", who, trunks=trunks)

    return [Route("/console/trunks", listing, methods=["GET"])]
