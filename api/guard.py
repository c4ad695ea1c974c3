"""The application's one LoginGuard (both APIs share its per-source bans) and who asks.

The source of a request is the socket's peer address, nothing the client writes (the
server runs uvicorn with proxy headers off). IPv6 clients are counted by /64, the block
one subscriber usually holds, so hopping addresses inside it does not reset the count.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from softswitch.config import ApiLimitsConfig
from softswitch.login_guard import LoginGuard, LoginLimits

_STATE_KEY = "login_guard"


def login_limits(config: ApiLimitsConfig) -> LoginLimits:
    return LoginLimits(
        failures_per_source=config.failures_per_source,
        failures_per_account=config.failures_per_account,
        window=float(config.failure_window),
        ban=float(config.ban_seconds),
        account_delay=config.account_delay_ms / 1000,
    )


def login_guard(request: Request, config: ApiLimitsConfig | None) -> LoginGuard:
    """The app's guard, made on first use from ``config`` (None: the defaults)."""
    state = request.app.state
    found = getattr(state, _STATE_KEY, None)
    if found is None:
        found = LoginGuard(login_limits(config or ApiLimitsConfig()))
        setattr(state, _STATE_KEY, found)
    return found


def source_of(request: Request) -> str:
    """The address a request's failures are counted against."""
    host = request.client.host if request.client is not None else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
