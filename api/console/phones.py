"""Phones: the account's extensions and each registration's address, transport and
reachability (the keepalive's verdict); add one (it belongs to the account; its
generated password is shown once, in the action's message) or remove one. The work is
`softswitch.extension_admin.ExtensionAdmin`'s, as for ``/api/admin/extensions``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from softswitch.field_error import FieldError, Refusal

from .security import Visitor
from .web import ActionError, Console


def routes(console: Console) -> list[BaseRoute]:
    switch = console.ctx.switch
    admin = switch.extension_admin

    def owned(who: Visitor) -> list[str]:
        return [r.number for r in admin.records() if r.settings.account == who.account_id]

    @console.page
    async def listing(request: Request, who: Visitor) -> Response:
        phones = [s for s in (switch.extension_status(n) for n in owned(who)) if s is not None]
        return console.render(request, "phones.html", who, phones=phones)

    @console.action(back="/console/phones")
    async def add(request: Request, who: Visitor, form: dict[str, str]) -> str:
        number = form.get("number", "").strip()
        settings = {"name": form.get("name", "").strip(), "account": who.account_id}
        try:
            _, password = admin.add(number, settings)
        except FieldError as exc:
            raise ActionError(str(exc), 409 if exc.refusal == Refusal.CONFLICT else 400) from None
        return f"extension {number} added; password {password} (shown once: copy it now)"

    @console.action(back="/console/phones")
    async def remove(request: Request, who: Visitor, form: dict[str, str]) -> str:
        number = request.path_params["number"]
        if number not in owned(who):
            raise ActionError(f"no extension {number}", 404)
        admin.remove(number)
        return f"extension {number} removed"

    return [
        Route("/console/phones", listing, methods=["GET"]),
        Route("/console/phones/add", add, methods=["POST"]),
        Route("/console/phones/{number}/remove", remove, methods=["POST"]),
    ]
