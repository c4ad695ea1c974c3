"""``/api/admin/trunks``: the trunks with their settings (never the password) and live
state; add, change (the trunk re-registers), remove (it unregisters). The work is
`softswitch.trunk_admin.TrunkAdmin`'s; calls through a trunk go on whatever changes."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from softswitch.config import TrunkConfig
from softswitch.field_error import FieldError

from .bodies import json_object, refused

if TYPE_CHECKING:
    from softswitch.switch import Switch


class TrunksView:
    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self.admin = switch.trunk_admin

    def _body(self, trunk: TrunkConfig, source: str) -> dict[str, Any]:
        data = asdict(trunk)
        data["password_set"] = bool(data.pop("password"))
        data["transport"] = trunk.transport.lower()
        data["source"] = source
        live = next((t for t in self.switch.trunks if t.name == trunk.name), None)
        data["state"] = live.status.state if live is not None else None
        data["carrier"] = live.keepalive.state if live is not None else None
        data["last_error"] = (live.status.last_error or None) if live is not None else None
        return data

    async def collection(self, request: Request) -> JSONResponse:
        if request.method == "POST":
            body = await json_object(request)
            try:
                trunk = await self.admin.add(body)
            except FieldError as exc:
                raise refused(exc) from None
            return JSONResponse(self._body(trunk, "api"))
        trunks = [self._body(t, source) for t, source in self.admin.all()]
        return JSONResponse({"trunks": trunks})

    async def member(self, request: Request) -> JSONResponse:
        name = request.path_params["name"]
        try:
            if request.method == "PATCH":
                trunk = await self.admin.update(name, await json_object(request))
                return JSONResponse(self._body(trunk, self.admin.get(name)[1]))
            if request.method == "DELETE":
                await self.admin.remove(name)
                return JSONResponse({"name": name, "removed": True})
            trunk, source = self.admin.get(name)
        except FieldError as exc:
            raise refused(exc) from None
        return JSONResponse(self._body(trunk, source))
