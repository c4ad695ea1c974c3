"""The web console: at ``/`` a login with the account's ``account``/``auth``, then pages
of the account's live calls, campaigns, CDRs, phones, trunks, voicemail and webhooks under
``/console/``.

Server-rendered Jinja2 templates (``templates/``) and one small script
(``static/console.js``: the live page's event stream, buttons posted with the CSRF
token), shipped in the package: nothing is fetched from elsewhere. One module per page;
`web.Console` is the frame they share (sessions, templates, the page and action
wrappers), `security` the cookie, CSRF and origin rules, `sessions` the server-side
sessions. `routes(ctx)` is what `api.app.create_app` mounts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from . import campaigns, cdrs, live, login, phones, trunks, voicemail, webhooks
from .sessions import Sessions
from .web import Console

if TYPE_CHECKING:
    from api.context import AppContext

_PAGES = (login, live, campaigns, cdrs, phones, trunks, voicemail, webhooks)


def routes(ctx: AppContext, sessions: Sessions | None = None) -> list[BaseRoute]:
    """The console's routes (none with ``[console] enabled = false``); ``sessions``
    lets a test drive the session clock."""
    config = ctx.config.console
    if not config.enabled:
        return []
    if sessions is None:
        sessions = Sessions(
            idle=config.session_idle_minutes * 60, lifetime=config.session_hours * 3600
        )
    console = Console.build(ctx, sessions)
    found: list[BaseRoute] = []
    for module in _PAGES:
        found.extend(module.routes(console))
    for route in found:
        if isinstance(route, Route):
            route.include_in_schema = False  # pages for people, not part of any API document
    found.append(
        Mount(
            "/console/static",
            app=StaticFiles(packages=[("api.console", "static")]),
            name="console-static",
        )
    )
    return found
