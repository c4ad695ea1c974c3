"""The CPaaS response envelope: every answer is ``{"response": {..., "success": "true"|"false"}}``.

The spec's clients compare ``success`` with the *strings* "true" and "false", so that is
what goes out, never JSON booleans. Handlers raise `ApiError` (or let the campaign
manager's `CampaignError` through); `endpoint` turns it (and anything unexpected) into
the error envelope, so no stack trace ever reaches a client.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from softswitch.campaigns.errors import CampaignError, ErrorKind

log = logging.getLogger("api.cpaas")


class ApiError(Exception):
    """A request the API refuses; ``status`` is the HTTP status of the error envelope."""

    def __init__(
        self, message: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers


class _Json(JSONResponse):
    # Compact separators like the spec's examples; non-ASCII kept as UTF-8.
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def ok(**fields: Any) -> JSONResponse:
    """``{"response": {**fields, "success": "true"}}`` with status 200."""
    fields["success"] = "true"
    return _Json({"response": fields})


def listed(what: str, items: list[Any]) -> JSONResponse:
    """A GET of a collection: ``result`` the items, ``message`` "<what> found" or "no <what>"."""
    return ok(message=f"{what} found" if items else f"no {what}", result=items)


def error_response(
    message: str, status: int = 400, headers: dict[str, str] | None = None
) -> JSONResponse:
    return _Json(
        {"response": {"message": message, "success": "false"}},
        status_code=status,
        headers=headers,
    )


# the HTTP status of a campaign error's envelope; any other kind is a 400
_CAMPAIGN_STATUS = {ErrorKind.NOT_FOUND: 404, ErrorKind.BAD_TOKEN: 401}


Handler = Callable[[Request], Awaitable[Response]]


def endpoint(handler: Handler) -> Handler:
    """Wrap a route handler: ApiError -> its envelope, any other exception -> 500 envelope."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc.message, exc.status, exc.headers)
        except CampaignError as exc:
            return error_response(exc.message, _CAMPAIGN_STATUS.get(exc.kind, 400))
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return error_response("internal error", 500)

    return run
