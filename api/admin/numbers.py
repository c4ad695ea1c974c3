"""``/api/admin/numbers``: the inbound numbers (DIDs) of every account, for the
operator: list, add, replace, remove (the CPaaS API's ``/api/numbers`` is one
account's view of the same `Switch.numbers`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse

from softswitch.numbers import InboundNumber, NumberError, did_key

from .bodies import json_object
from .errors import AdminError

if TYPE_CHECKING:
    from softswitch.switch import Switch


def number_body(number: InboundNumber) -> dict[str, object]:
    return number.model_dump(mode="json")


class NumbersView:
    def __init__(self, switch: Switch) -> None:
        self.book = switch.numbers

    def _one(self, number: str) -> InboundNumber:
        found = self.book.lookup(number)
        if found is None:
            raise AdminError(f"no number {did_key(number) or number}", 404)
        return found

    async def collection(self, request: Request) -> JSONResponse:
        if request.method == "POST":
            body = await json_object(request)
            try:
                made = self.book.put_number(body, replace=False)
            except NumberError as exc:
                raise AdminError(str(exc), 409 if "already in use" in str(exc) else 400) from None
            return JSONResponse(number_body(made))
        rows = self.book.rows.numbers()
        return JSONResponse(
            {"numbers": [number_body(InboundNumber.model_validate(r.data)) for r in rows]}
        )

    async def member(self, request: Request) -> JSONResponse:
        current = self._one(request.path_params["number"])
        if request.method == "DELETE":
            self.book.delete_number(current.account, current.number)
            return JSONResponse({"number": current.number, "removed": True})
        if request.method == "PUT":
            body = await json_object(request)
            body = {"number": current.number, "account": current.account, **body}
            if did_key(str(body["number"])) != current.number:
                raise AdminError("number: it is the path's; remove and add to renumber", 400)
            try:
                made = self.book.put_number(body)
            except NumberError as exc:
                raise AdminError(str(exc), 400) from None
            return JSONResponse(number_body(made))
        return JSONResponse(number_body(current))
