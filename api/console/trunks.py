"""Trunks: the account's trunks (their ``account``): registration state, last error,
and whether the carrier answers the keepalive pings; Remove unregisters one (as
``DELETE /api/admin/trunks/{name}``: its live calls go on)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .security import Visitor
from .web import ActionError, Console


def routes(console: Console) -> list[BaseRoute]:
    switch = console.ctx.switch

    def owned(who: Visitor) -> list:
        return [t for t in switch.trunks if t.config.account == who.account_id]

    @console.page
    async def listing(request: Request, who: Visitor) -> Response:
        return console.render(request, "trunks.html", who, trunks=owned(who))

    @console.action(back="/console/trunks")
    async def remove(request: Request, who: Visitor, form: dict[str, str]) -> str:
        name = request.path_params["name"]
        if name not in [t.name for t in owned(who)]:
            raise ActionError(f"no trunk {name}", 404)
        await switch.trunk_admin.remove(name)
        return f"trunk {name} removed (unregistered)"

    return [
        Route("/console/trunks", listing, methods=["GET"]),
        Route("/console/trunks/{name}/remove", remove, methods=["POST"]),
    ]
