"""Who is calling: the `account` and `auth` headers, checked against the stored accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from softswitch.accounts import Account, AccountAuthenticator
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
    """The account whose `account`/`auth` headers the request carries; ApiError(401) if none."""
    account_id = request.headers.get("account", "").strip()
    secret = request.headers.get("auth", "")
    if not account_id or not secret:
        raise ApiError("authentication required: headers account and auth", 401)
    if len(account_id) > MAX_HEADER or len(secret) > MAX_HEADER:
        raise ApiError("invalid account or auth", 401)
    account = await authenticator(request, ctx).authenticate(account_id, secret)
    if account is None:
        raise ApiError("invalid account or auth", 401)
    return account
