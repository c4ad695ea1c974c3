"""Who is calling: the `account` and `auth` headers, checked against the stored accounts.

Failed checks are throttled (api.guard, softswitch.login_guard): a source address with
too many failures is answered 429 in the spec's error envelope, with Retry-After, before
its credentials cost anything; an account under attack is slowed down, never locked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from api.guard import login_guard, source_of
from softswitch.accounts import Account, AccountAuthenticator
from softswitch.login_guard import Throttled
from softswitch.store.accounts import AccountStore

from .responses import ApiError

if TYPE_CHECKING:
    from api.context import AppContext

_STATE_KEY = "cpaas_authenticator"
MAX_HEADER = 256


def authenticator(request: Request, ctx: AppContext) -> AccountAuthenticator:
    """The app's one authenticator (its cache of verified secrets lives as long as the app)."""
    state = request.app.state
    found = getattr(state, _STATE_KEY, None)
    if found is None:
        found = AccountAuthenticator(AccountStore(ctx.store.db))
        setattr(state, _STATE_KEY, found)
    return found


async def account_of(request: Request, ctx: AppContext) -> Account:
    """The account whose `account`/`auth` headers the request carries; ApiError(401) if
    none, ApiError(429) while this source or account is throttled."""
    account_id = request.headers.get("account", "").strip()
    secret = request.headers.get("auth", "")
    if not account_id or not secret:
        raise ApiError("authentication required: headers account and auth", 401)
    guard = login_guard(request, ctx.config.api_limits)
    source = source_of(request)
    key = "cpaas:" + account_id[:64]  # no account id is longer: keeps the throttle small
    try:
        await guard.admit(source, key)
    except Throttled as exc:
        raise ApiError(
            "too many failed logins: try again later",
            429,
            {"Retry-After": str(exc.retry_after)},
        ) from None
    account = None
    if len(account_id) <= MAX_HEADER and len(secret) <= MAX_HEADER:
        account = await authenticator(request, ctx).authenticate(account_id, secret)
    if account is None:
        guard.failed(source, key)
        raise ApiError("invalid account or auth", 401)
    return account
