"""The admin API's error shape: ``{"error": {"status": 401, "message": "..."}}``."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


class AdminError(Exception):
    """A request the admin API refuses, with its HTTP status and any extra headers."""

    def __init__(self, message: str, status: int, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        body = {"error": {"status": self.status, "message": self.message}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)
