"""Webhooks: the account's status_callback URL (set or clear it), its signing secret
(rotate it; a new secret is shown once, in the answer), and the recent deliveries with
their attempts. The same `softswitch.webhooks.settings` code as ``/api/webhooks`` checks
the URL, so the page refuses what the API refuses, with the same message."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from softswitch.store.webhooks import DeliveryStatus
from softswitch.webhooks.service import Webhooks
from softswitch.webhooks.settings import SettingsChange, WebhookUrlError

from .security import Visitor
from .web import ActionError, Console

BACK = "/console/webhooks"
LISTED = 50  # the newest deliveries shown; /api/webhooks/deliveries pages through all
STATUSES = tuple(s.value for s in DeliveryStatus)
UNAVAILABLE = "webhooks are not available on this server"


def parse_status(params: dict[str, str]) -> DeliveryStatus | None:
    """The status filter of the query string (ActionError saying what is wrong)."""
    text = params.get("status", "").strip().lower()
    if not text:
        return None
    if text not in STATUSES:
        raise ActionError(f"status: {text!r} is not one of {', '.join(STATUSES)}")
    return DeliveryStatus(text)


def shown_once(change: SettingsChange) -> str:
    if change.new_secret is None:
        return ""
    return f" Your webhook secret (shown only now, keep it): {change.new_secret}"


def routes(console: Console) -> list[BaseRoute]:
    ctx = console.ctx

    def service() -> Webhooks:
        if ctx.webhooks is None:
            raise ActionError(UNAVAILABLE, 503)
        return ctx.webhooks

    @console.page
    async def listing(request: Request, who: Visitor) -> Response:
        webhooks = ctx.webhooks
        if webhooks is None:
            return console.render(request, "error.html", who, 503, message=UNAVAILABLE)
        try:
            status = parse_status(dict(request.query_params))
        except ActionError as exc:
            return console.render(
                request, "error.html", who, exc.status, message=exc.message, back=BACK
            )
        events, total = webhooks.deliveries(who.account_id, status, LISTED)
        return console.render(
            request,
            "webhooks.html",
            who,
            settings=webhooks.settings.get(who.account_id),
            events=events,
            total=total,
            status=status.value if status else "",
            statuses=STATUSES,
        )

    @console.action(back=BACK)
    async def set_url(request: Request, who: Visitor, form: dict[str, str]) -> str:
        try:
            change = await service().settings.set_url(
                who.account_id, form.get("status_callback", "")
            )
        except WebhookUrlError as exc:
            raise ActionError(str(exc)) from None
        done = "status_callback set" if change.settings.url else "status_callback cleared"
        return done + "." + shown_once(change)

    @console.action(back=BACK)
    async def rotate(request: Request, who: Visitor, form: dict[str, str]) -> str:
        change = service().settings.rotate_secret(who.account_id)
        return "webhook secret rotated: deliveries are signed with it from now on." + (
            shown_once(change)
        )

    return [
        Route(BACK, listing, methods=["GET"]),
        Route(BACK + "/url", set_url, methods=["POST"]),
        Route(BACK + "/secret", rotate, methods=["POST"]),
    ]
