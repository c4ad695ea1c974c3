"""What the admin API's writing handlers share: the JSON body, read with a size cap,
and the switch's `FieldError` as the admin API's error (400, 404 or 409)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from softswitch.field_error import FieldError, Refusal

from .errors import AdminError

MAX_BODY = 16_384
STATUS = {Refusal.INVALID: 400, Refusal.NOT_FOUND: 404, Refusal.CONFLICT: 409}


async def json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise AdminError("the body is too large", 413)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise AdminError("the body is not JSON", 400) from None
    if not isinstance(body, dict):
        raise AdminError("the body must be a JSON object", 400)
    return body


def refused(exc: FieldError) -> AdminError:
    return AdminError(str(exc), STATUS[exc.refusal])
