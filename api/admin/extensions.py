"""``GET /api/admin/extensions`` and ``GET /api/admin/extensions/{number}``."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from softswitch.extension_status import ExtensionStatus

from .errors import AdminError

if TYPE_CHECKING:
    from softswitch.switch import Switch


def extension_body(status: ExtensionStatus) -> dict[str, Any]:
    return {
        "number": status.number,
        "name": status.name or None,
        "registrations": [asdict(r) for r in status.registrations],
    }


class ExtensionsView:
    def __init__(self, switch: Switch) -> None:
        self.switch = switch

    async def index(self, request: Request) -> JSONResponse:
        statuses = self.switch.extensions_status()
        return JSONResponse({"extensions": [extension_body(s) for s in statuses]})

    async def show(self, request: Request) -> JSONResponse:
        number = request.path_params["number"]
        status = self.switch.extension_status(number)
        if status is None:
            raise AdminError(f"no extension {number}", 404)
        return JSONResponse(extension_body(status))
