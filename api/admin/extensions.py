"""``/api/admin/extensions``: every extension with its settings and live registrations;
add one (its generated password is in that answer only), change its settings, reset its
password, remove it. The work is `softswitch.extension_admin.ExtensionAdmin`'s."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from softswitch.extension_status import ExtensionStatus
from softswitch.field_error import FieldError
from softswitch.store.extension_settings import ExtensionRecord

from .bodies import json_object, refused
from .errors import AdminError

if TYPE_CHECKING:
    from softswitch.switch import Switch


def extension_body(status: ExtensionStatus, record: ExtensionRecord | None) -> dict[str, Any]:
    settings = record.settings if record is not None else None
    return {
        "number": status.number,
        "name": status.name or None,
        "account": (settings.account or None) if settings else None,
        "outside_caller_id": (settings.outside_caller_id or None) if settings else None,
        "max_devices": settings.max_devices if settings else None,
        "codecs": settings.codecs if settings else [],
        "transports": settings.transports if settings else [],
        "voicemail": settings.voicemail if settings else False,
        "source": record.source if record is not None else None,
        "registrations": [asdict(r) for r in status.registrations],
    }


class ExtensionsView:
    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self.admin = switch.extension_admin

    def _body(self, number: str) -> dict[str, Any]:
        status = self.switch.extension_status(number)
        if status is None:
            raise AdminError(f"no extension {number}", 404)
        return extension_body(status, self.admin.settings.record(number))

    async def collection(self, request: Request) -> JSONResponse:
        return await (self.create if request.method == "POST" else self.index)(request)

    async def member(self, request: Request) -> JSONResponse:
        if request.method == "PATCH":
            return await self.update(request)
        if request.method == "DELETE":
            return await self.remove(request)
        return await self.show(request)

    async def index(self, request: Request) -> JSONResponse:
        records = {r.number: r for r in self.admin.records()}
        statuses = self.switch.extensions_status()
        return JSONResponse(
            {"extensions": [extension_body(s, records.get(s.number)) for s in statuses]}
        )

    async def show(self, request: Request) -> JSONResponse:
        return JSONResponse(self._body(request.path_params["number"]))

    async def create(self, request: Request) -> JSONResponse:
        body = await json_object(request)
        number = body.pop("number", None)
        try:
            record, password = self.admin.add(number, body)
        except FieldError as exc:
            raise refused(exc) from None
        return JSONResponse({**self._body(record.number), "password": password})

    async def update(self, request: Request) -> JSONResponse:
        number = request.path_params["number"]
        body = await json_object(request)
        try:
            self.admin.update(number, body)
        except FieldError as exc:
            raise refused(exc) from None
        return JSONResponse(self._body(number))

    async def remove(self, request: Request) -> JSONResponse:
        number = request.path_params["number"]
        try:
            self.admin.remove(number)
        except FieldError as exc:
            raise refused(exc) from None
        return JSONResponse({"number": number, "removed": True})

    async def reset(self, request: Request) -> JSONResponse:
        number = request.path_params["number"]
        try:
            password = self.admin.reset(number)
        except FieldError as exc:
            raise refused(exc) from None
        return JSONResponse({"number": number, "password": password})
