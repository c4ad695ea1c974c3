"""The CPaaS API (../shared/specs/cpaas-api.txt): click2call, callbacks, OTP calls,
live-call control, CDRs, announcement templates, call flows, uploads, campaigns.

`routes(ctx)` is what `api.app.create_app` mounts. Framework for every endpoint module:
`responses` (envelope, ApiError, `endpoint`), `auth` (`account_of`), `body` (`parse_body`).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from api.context import AppContext

# endpoint modules, each with `routes(ctx) -> list[BaseRoute]`
_MODULES = ("calls", "callbacks", "cdrs", "templates", "flows", "files")


def routes(ctx: AppContext) -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for name in _MODULES:
        found.extend(importlib.import_module(f"{__name__}.{name}").routes(ctx))
    # The campaign manager is written alongside; mount it once its module exists.
    if importlib.util.find_spec(f"{__name__}.campaigns") is not None:
        found.extend(importlib.import_module(f"{__name__}.campaigns").routes(ctx))
    return found
