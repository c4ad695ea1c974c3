"""The CPaaS API (../shared/specs/cpaas-api.txt): click2call, callbacks, OTP calls,
live-call control, CDRs, announcement templates, call flows, uploads, campaigns,
conference rooms, inbound numbers and ring groups, and the voicemail of the account's
extensions, and the account's webhooks.

`routes(ctx)` is what `api.app.create_app` mounts. Framework for every endpoint module:
`responses` (envelope, ApiError, `endpoint`), `auth` (`account_of`), `body` (`parse_body`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from . import (
    callbacks,
    calls,
    campaigns,
    cdrs,
    conferences,
    files,
    flows,
    inbound_numbers,
    templates,
    voicemail,
    webhooks,
)

if TYPE_CHECKING:
    from api.context import AppContext

# each endpoint module has `routes(ctx) -> list[BaseRoute]`
_MODULES = (
    calls,
    callbacks,
    cdrs,
    templates,
    flows,
    files,
    campaigns,
    conferences,
    inbound_numbers,
    voicemail,
    webhooks,
)


def routes(ctx: AppContext) -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for module in _MODULES:
        found.extend(module.routes(ctx))
    paths = [getattr(route, "path", "") for route in found]
    duplicates = {p for p in paths if paths.count(p) > 1}
    if duplicates:  # two modules claiming a path: the second would silently never run
        raise RuntimeError(f"CPaaS paths defined twice: {', '.join(sorted(duplicates))}")
    return found
