"""JAICP error bodies: ``{"type": "...", "message": "...", ...}`` with the HTTP status
(400 invalid request, 401 bad or unknown token, 404 deleted campaign, 413 body too large,
429 too many bad tokens from this address, with Retry-After)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from softswitch.campaigns.errors import CampaignError, ErrorKind

# the JAICP `type` and HTTP status of each kind of campaign error
_SHAPES: dict[ErrorKind, tuple[str, int]] = {
    ErrorKind.INVALID: ("request.invalid", 400),
    ErrorKind.NOT_FOUND: ("campaign.not.found", 404),
    ErrorKind.BAD_TOKEN: ("token.invalid", 401),
    ErrorKind.CLOSED: ("campaign.finished", 400),
    ErrorKind.NOT_PAUSED: ("campaign.notPaused", 400),
    ErrorKind.DUPLICATED: ("phone.duplicated", 400),
}


class RequestError(Exception):
    """A request refused before it reaches the campaign (its body, its headers)."""

    def __init__(self, message: str, status: int = 400, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


def request_error(exc: RequestError) -> JSONResponse:
    body: dict[str, Any] = {"type": "request.invalid", "message": exc.message}
    if exc.field is not None:
        body["field"] = exc.field
    return JSONResponse(body, status_code=exc.status)


def campaign_error(exc: CampaignError) -> JSONResponse:
    type_, status = _SHAPES[exc.kind]
    body: dict[str, Any] = {"type": type_, "message": exc.message}
    if exc.field is not None:
        body["field"] = exc.field
    if exc.kind is ErrorKind.DUPLICATED:
        body["phone"] = exc.duplicates[0]
        body["phonesDuplicates"] = exc.duplicates
    return JSONResponse(body, status_code=status)


def internal_error() -> JSONResponse:
    return JSONResponse({"type": "internal.error", "message": "internal error"}, status_code=500)


def throttled_error(retry_after: int) -> JSONResponse:
    return JSONResponse(
        {"type": "request.throttled", "message": "too many invalid tokens: try again later"},
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )
