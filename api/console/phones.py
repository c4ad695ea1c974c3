"""Phones: the account's extensions (``[[extensions]] account``) and each registration's
address, transport and reachability (the keepalive's verdict)."""

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
        numbers = [e.number for e in switch.config.extensions if e.account == who.account_id]
        phones = [s for s in (switch.extension_status(n) for n in numbers) if s is not None]
        return console.render(request, "phones.html", who, phones=phones)

    return [Route("/console/phones", listing, methods=["GET"])]
