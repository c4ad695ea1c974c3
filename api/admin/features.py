"""``GET/PATCH /api/admin/extensions/{number}/features``: an extension's call forwarding
and DND, the settings its phone changes with feature codes (``*72``, ``*78``, ...).

A PATCH names only what it changes; a forwarding target of ``null`` or ``""`` turns
that forwarding off. The keys are the ``[[extensions]]`` config keys.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from softswitch.config import MAX_NO_ANSWER_TIMEOUT, forward_target_problem
from softswitch.store.call_features import CallFeatures

from .errors import AdminError

if TYPE_CHECKING:
    from softswitch.switch import Switch

TARGETS = ("forward_always", "forward_busy", "forward_no_answer")
MAX_BODY = 4096


def features_body(number: str, features: CallFeatures, pickup_group: str) -> dict[str, Any]:
    return {
        "number": number,
        "forward_always": features.forward_always or None,
        "forward_busy": features.forward_busy or None,
        "forward_no_answer": features.forward_no_answer or None,
        "no_answer_timeout": features.no_answer_seconds,
        "dnd": features.dnd,
        "pickup_group": pickup_group or None,  # from the config file: not changed here
    }


def patched(number: str, features: CallFeatures, body: object) -> CallFeatures:
    """``features`` with the PATCH ``body`` applied; AdminError 400 for a wrong one."""
    if not isinstance(body, dict):
        raise AdminError("the body must be a JSON object", 400)
    unknown = set(body) - {*TARGETS, "no_answer_timeout", "dnd"}
    if unknown:
        raise AdminError(f"unknown field(s): {', '.join(sorted(unknown))}", 400)
    changes: dict[str, Any] = {}
    for key in TARGETS:
        if key not in body:
            continue
        target = body[key]
        if target is None:
            target = ""
        if not isinstance(target, str):
            raise AdminError(f"{key} must be a number as a string, or null", 400)
        problem = forward_target_problem(target, number) if target else None
        if problem is not None:
            raise AdminError(f"{key} {problem}", 400)
        changes[key] = target
    if "no_answer_timeout" in body:
        seconds = body["no_answer_timeout"]
        if (
            not isinstance(seconds, int)
            or isinstance(seconds, bool)
            or not 1 <= seconds <= MAX_NO_ANSWER_TIMEOUT
        ):
            raise AdminError(
                f"no_answer_timeout must be an integer from 1 to {MAX_NO_ANSWER_TIMEOUT}", 400
            )
        changes["no_answer_seconds"] = seconds
    if "dnd" in body:
        if not isinstance(body["dnd"], bool):
            raise AdminError("dnd must be true or false", 400)
        changes["dnd"] = body["dnd"]
    return replace(features, **changes)


class FeaturesView:
    def __init__(self, switch: Switch) -> None:
        self.switch = switch

    def _extension(self, request: Request) -> str:
        number = request.path_params["number"]
        if self.switch.store.extension(number) is None:
            raise AdminError(f"no extension {number}", 404)
        return str(number)

    def _body(self, number: str, features: CallFeatures) -> JSONResponse:
        group = next(
            (e.pickup_group for e in self.switch.config.extensions if e.number == number), ""
        )
        return JSONResponse(features_body(number, features, group))

    async def dispatch(self, request: Request) -> JSONResponse:
        return await (self.update if request.method == "PATCH" else self.show)(request)

    async def show(self, request: Request) -> JSONResponse:
        number = self._extension(request)
        return self._body(number, self.switch.call_features.get(number))

    async def update(self, request: Request) -> JSONResponse:
        number = self._extension(request)
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise AdminError("the body is too large", 413)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise AdminError("the body is not JSON", 400) from None
        store = self.switch.call_features
        features = patched(number, store.get(number), body)
        store.put(number, features)
        return self._body(number, features)
