"""The console's frame: templates, and the wrappers that every page and action goes through.

`Console.page` wraps a GET handler: no session -> a redirect to the login at ``/``.
`Console.action` wraps a POST handler: session, CSRF and origin checked, the form read;
the handler returns the message to show. console.js asks for JSON (``Accept:
application/json``) and shows it in place; a form posted without JavaScript gets a
303 back to its page with the message kept in the session for that page.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from api.cpaas.responses import ApiError
from softswitch.campaigns.errors import CampaignError

from .security import Refused, Visitor, check_csrf, read_form, visitor
from .sessions import Sessions

if TYPE_CHECKING:
    from api.context import AppContext

log = logging.getLogger("api.console")

# what the browser may load: our own files only (no CDN, no inline script)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

MAX_FLASH = 5

# the navigation, in order: (path, title)
PAGES = (
    ("/console/live", "Live calls"),
    ("/console/campaigns", "Campaigns"),
    ("/console/cdrs", "CDRs"),
    ("/console/phones", "Phones"),
    ("/console/trunks", "Trunks"),
    ("/console/voicemail", "Voicemail"),
    ("/console/webhooks", "Webhooks"),
)

PageHandler = Callable[[Request, Visitor], Awaitable[Response]]
ActionHandler = Callable[[Request, Visitor, dict[str, str]], Awaitable[str]]
Endpoint = Callable[[Request], Awaitable[Response]]


class ActionError(Exception):
    """An action the console refuses, with the message to show and an HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def utc(ts: float | None) -> str:
    if not ts:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    whole = int(round(value))
    return f"{whole // 60}:{whole % 60:02d}"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("api.console", "templates"),
        autoescape=jinja2.select_autoescape(["html", "svg"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = utc
    env.filters["seconds"] = seconds
    return env


@dataclass(slots=True)
class Console:
    ctx: AppContext
    sessions: Sessions
    templates: Jinja2Templates

    @classmethod
    def build(cls, ctx: AppContext, sessions: Sessions) -> Console:
        return cls(ctx, sessions, Jinja2Templates(env=environment()))

    def fragment(self, name: str, **context: Any) -> str:
        """A template rendered to text (a piece of a page, for the event stream)."""
        return self.templates.get_template(name).render(**context)

    def render(
        self,
        request: Request,
        name: str,
        who: Visitor | None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        flash: list[str] = []
        if who is not None:
            flash, who.session.flash = who.session.flash, []
        response = self.templates.TemplateResponse(
            request,
            name,
            {
                "pages": PAGES,
                "path": request.url.path,
                "account": who.account_id if who else "",
                "csrf_token": who.session.csrf_token if who else "",
                "flash": flash,
                **context,
            },
            status_code=status_code,
            headers={**SECURITY_HEADERS, **(headers or {})},
        )
        return response

    def page(self, handler: PageHandler) -> Endpoint:
        @functools.wraps(handler)
        async def run(request: Request) -> Response:
            try:
                who = visitor(request, self.sessions)
            except Refused:
                return RedirectResponse("/", 303, headers=SECURITY_HEADERS)
            try:
                return await handler(request, who)
            except Exception:
                log.exception("console page %s failed", request.url.path)
                return self.render(
                    request, "error.html", who, 500, message="internal error (see the log)"
                )

        return run

    def action(self, back: str) -> Callable[[ActionHandler], Endpoint]:
        """A POST handler; ``back`` is the page a plain form returns to."""

        def wrap(handler: ActionHandler) -> Endpoint:
            @functools.wraps(handler)
            async def run(request: Request) -> Response:
                wants_json = "application/json" in request.headers.get("accept", "")
                try:
                    # only a request that passes the CSRF check counts as a person's click
                    who = visitor(request, self.sessions, touch=False)
                    form = await read_form(request)
                    check_csrf(request, who.session.csrf_token, form)
                    self.sessions.touch(who.session)
                except Refused as exc:
                    return JSONResponse(
                        {"ok": False, "message": exc.message},
                        exc.status,
                        headers=SECURITY_HEADERS,
                    )
                status, message = 200, ""
                try:
                    message = await handler(request, who, form)
                except ActionError as exc:
                    status, message = exc.status, exc.message
                except ApiError as exc:
                    status, message = exc.status, exc.message
                except CampaignError as exc:
                    status, message = 400, exc.message
                except Exception:
                    log.exception("console action %s failed", request.url.path)
                    status, message = 500, "internal error (see the log)"
                if wants_json:
                    return JSONResponse(
                        {"ok": status < 400, "message": message},
                        status,
                        headers=SECURITY_HEADERS,
                    )
                # kept for the next page; a client that never looks keeps only the last few
                who.session.flash = [*who.session.flash[-(MAX_FLASH - 1) :], message]
                return RedirectResponse(back, 303, headers=SECURITY_HEADERS)

            return run

        return wrap
