"""Request bodies: read with a size cap, parse JSON (repairing copy-paste quotes), validate.

Copying a body from the CPaaS document yields typographic quotes (“ ” ″) and line
breaks inside keys; a body that is not valid JSON as sent gets one repair attempt
before it is refused, so strict JSON always parses exactly as written.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request

from .responses import ApiError

M = TypeVar("M", bound=BaseModel)

MAX_BODY = 256 * 1024  # bytes; the largest legitimate body is a contact list or a flow

_QUOTES = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u2033": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2036": '"',
    }
)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body; ApiError(400) when it is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise ApiError(f"request body too large (limit {limit} bytes)")
        except ValueError:
            raise ApiError("invalid Content-Length header") from None
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(f"request body too large (limit {limit} bytes)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError("request body incomplete") from None
    return b"".join(chunks)


def repair_json(text: str) -> str:
    """Typographic quotes -> ASCII quotes; raw line breaks (from wrapped copies) removed."""
    return text.translate(_QUOTES).replace("\r", "").replace("\n", "")


def parse_json(raw: bytes) -> dict[str, Any]:
    """A JSON object from the body, or ApiError(400) saying what is wrong with it."""
    if not raw.strip():
        raise ApiError("request body is empty: a JSON object is required")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError("request body is not UTF-8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as first:
        try:
            data = json.loads(repair_json(text))
        except json.JSONDecodeError:
            raise ApiError(
                f"invalid JSON: {first.msg} at line {first.lineno} column {first.colno}"
            ) from None
    if not isinstance(data, dict):
        raise ApiError("request body must be a JSON object")
    return data


def validation_message(error: ValidationError) -> str:
    """The first problem of a pydantic error, prefixed with the field it concerns."""
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    message = first["msg"]
    if first["type"] == "missing":
        message = "field required"
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return f"{where}: {message}"


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(validation_message(exc)) from None


async def parse_body(request: Request, model: type[M], limit: int = MAX_BODY) -> M:
    """Read, parse and validate the body as ``model``; every failure is ApiError(400)."""
    return validate(model, parse_json(await read_body(request, limit)))
