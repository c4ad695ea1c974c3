"""``/``: the login form (the account's ``account`` and ``auth``), login and logout."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from api.cpaas.auth import MAX_HEADER, authenticator
from api.guard import login_guard, source_of
from softswitch.login_guard import Throttled

from .security import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_COOKIE_SECONDS,
    Refused,
    check_csrf,
    check_login_token,
    clear_cookie,
    new_login_token,
    read_form,
    set_cookie,
    visitor,
)
from .web import SECURITY_HEADERS, Console

HOME = "/console/live"


def routes(console: Console) -> list[BaseRoute]:
    ctx = console.ctx

    def form(request: Request, status: int = 200, error: str = "", **headers: str) -> Response:
        token = new_login_token()
        response = console.render(
            request, "login.html", None, status, headers, login_token=token, error=error
        )
        set_cookie(response, request, LOGIN_COOKIE, token, LOGIN_COOKIE_SECONDS)
        return response

    async def home(request: Request) -> Response:
        try:
            visitor(request, console.sessions)
        except Refused:
            return form(request)
        return RedirectResponse(HOME, 303, headers=SECURITY_HEADERS)

    async def login(request: Request) -> Response:
        try:
            fields = await read_form(request)
            check_login_token(request, fields)
        except Refused as exc:
            return form(request, exc.status, exc.message)
        account_id = fields.get("account", "").strip()
        secret = fields.get("auth", "")
        if not account_id or not secret:
            return form(request, 400, "enter the account and its auth secret")
        guard = login_guard(request, ctx.config.api_limits)
        source = source_of(request)
        key = "cpaas:" + account_id[:64]  # the CPaaS API's key: one throttle for both
        try:
            await guard.admit(source, key)
        except Throttled as exc:
            return form(
                request,
                429,
                f"too many failed logins: try again in {exc.retry_after} s",
                **{"Retry-After": str(exc.retry_after)},
            )
        account = None
        if len(account_id) <= MAX_HEADER and len(secret) <= MAX_HEADER:
            account = await authenticator(request, ctx).authenticate(account_id, secret)
        if account is None:
            guard.failed(source, key)
            return form(request, 401, "invalid account or auth")
        # a new id at every login (never one the browser brought along), the old one ended
        console.sessions.close(request.cookies.get(COOKIE, ""))
        session_id, _ = console.sessions.open(account.id)
        response = RedirectResponse(HOME, 303, headers=SECURITY_HEADERS)
        set_cookie(response, request, COOKIE, session_id, int(console.sessions.lifetime))
        clear_cookie(response, request, LOGIN_COOKIE)
        return response

    async def logout(request: Request) -> Response:
        try:
            who = visitor(request, console.sessions, touch=False)
            check_csrf(request, who.session.csrf_token, await read_form(request))
        except Refused as exc:
            return form(request, exc.status, exc.message)
        console.sessions.close(who.session_id)
        response = RedirectResponse("/", 303, headers=SECURITY_HEADERS)
        clear_cookie(response, request, COOKIE)
        return response

    return [
        Route("/", home, methods=["GET"]),
        Route("/console/login", login, methods=["POST"]),
        Route("/console/logout", logout, methods=["POST"]),
    ]
