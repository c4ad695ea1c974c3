"""The admin credential: ``Authorization: Bearer <token>``, checked against the store.

Wrong tokens are counted per source address with the same guard the SIP registrar uses
against password guessing; a source that keeps failing is refused outright (429) for
a while, even with a good token, so guessing gains nothing from being fast. A request
with no credential at all is a 401 but no failure: it tells a guesser nothing.
"""

from __future__ import annotations

from starlette.requests import Request

from softswitch.admin_tokens import MAX_TOKEN, check_admin_token
from softswitch.identity import AuthGuard
from softswitch.store.admin_tokens import AdminTokenRecord, AdminTokenStore

from .errors import AdminError

MAX_FAILURES = 10  # wrong tokens from one address within WINDOW ...
WINDOW = 60.0
BAN_SECONDS = 300.0  # ... refuse that address for this long

_CHALLENGE = 'Bearer realm="softswitch-admin"'


def default_guard() -> AuthGuard:
    return AuthGuard(MAX_FAILURES, window=WINDOW, ban_seconds=BAN_SECONDS)


class AdminAuth:
    def __init__(self, tokens: AdminTokenStore, guard: AuthGuard) -> None:
        self.tokens = tokens
        self.guard = guard

    def check(self, request: Request) -> AdminTokenRecord:
        """The token the request presents; AdminError (401 or 429) if none is valid."""
        source = request.client.host if request.client else ""
        if self.guard.banned(source):
            raise AdminError(
                "too many failed attempts from this address; try again later",
                429,
                {"Retry-After": str(int(self.guard.ban_seconds))},
            )
        header = request.headers.get("authorization")
        if header is None:
            raise AdminError(
                "authentication required: Authorization: Bearer <admin token>",
                401,
                {"WWW-Authenticate": _CHALLENGE},
            )
        scheme, _, token = header.partition(" ")
        record = None
        if scheme.lower() == "bearer" and len(token) <= MAX_TOKEN:
            record = check_admin_token(self.tokens, token.strip())
        if record is None:
            self.guard.failed(source, None)  # no user: the address is what is counted
            raise AdminError(
                "invalid admin token",
                401,
                {"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
            )
        self.guard.succeeded(source, None)
        return record
