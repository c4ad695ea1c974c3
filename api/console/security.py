"""What every console request goes through: the session cookie, CSRF, the login form.

- The session cookie holds a random id only (`sessions`); it is HttpOnly, SameSite=Strict,
  Secure whenever the console is served over TLS, and scoped to the whole site.
- A state-changing request (any POST) must carry the session's CSRF token, in the
  ``X-CSRF-Token`` header (console.js) or a ``csrf_token`` form field (a form posted
  without JavaScript), and, when the browser names one, come from our own origin
  (``Origin``, else ``Referer``). A request failing either is refused with 403.
- The login form itself is CSRF-safe with a double-submit token: the page sets a random
  value in a short-lived cookie and the form must post it back (a forged cross-site
  login cannot read the cookie), plus the same origin check.
- Failed logins go through the API's `LoginGuard` (api.guard) under the same key as the
  CPaaS headers: a password guessed through the console counts against the same bans.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from api.cpaas.body import read_body
from api.cpaas.responses import ApiError

from .sessions import Session, Sessions

COOKIE = "softswitch_console"
LOGIN_COOKIE = "softswitch_console_login"
LOGIN_COOKIE_SECONDS = 3600  # a login page left open longer than this is reloaded
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
MAX_FORM = 16 * 1024  # the largest console form is a transfer or a click2call
MAX_FIELDS = 32


class Refused(Exception):
    """A console request refused: ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NotLoggedIn(Refused):
    def __init__(self) -> None:
        super().__init__("not logged in, or the session expired: log in again", 401)


@dataclass(slots=True, frozen=True)
class Visitor:
    """A request's live session and the id its cookie carries."""

    session_id: str
    session: Session

    @property
    def account_id(self) -> str:
        return self.session.account_id


def visitor(request: Request, sessions: Sessions, *, touch: bool = True) -> Visitor:
    """The request's session; NotLoggedIn when it has none or it expired."""
    session_id = request.cookies.get(COOKIE, "")
    session = sessions.get(session_id, touch=touch)
    if session is None:
        raise NotLoggedIn
    return Visitor(session_id, session)


def same_origin(request: Request) -> bool:
    """Does the browser say the request comes from a page of ours? (No header: the
    client is no browser, or hides it; then the CSRF token alone decides.)"""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed is None:
        return True
    parts = urlsplit(claimed)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


def check_csrf(request: Request, expected: str, form: dict[str, str]) -> None:
    """Refuse (403) a state change without the expected token or from another origin."""
    if not same_origin(request):
        raise Refused("cross-origin request refused", 403)
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD, "")
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Refused("missing or wrong CSRF token: reload the page", 403)


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form (what console.js and plain forms send), size-capped."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        raw = await read_body(request, MAX_FORM)
    except ApiError as exc:
        raise Refused(exc.message, 400) from None
    if not raw:
        return {}
    if kind != "application/x-www-form-urlencoded":
        raise Refused("send the form as application/x-www-form-urlencoded", 415)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("the form is not UTF-8", 400) from None
    try:
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except ValueError:
        raise Refused(f"too many form fields (at most {MAX_FIELDS})", 400) from None


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def check_login_token(request: Request, form: dict[str, str]) -> None:
    """The login form's double-submit token and origin (403 when either is wrong)."""
    if not same_origin(request):
        raise Refused("cross-origin login refused", 403)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise Refused("the login form expired: reload the page and log in again", 403)
