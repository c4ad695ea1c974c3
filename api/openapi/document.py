"""The OpenAPI 3.1 document, built from the app's `DocumentedRoute`s.

Every schema comes from pydantic: all the types the operations name are generated in
one `GenerateJsonSchema.generate_definitions` call, so models shared by several
operations are one component and two models of the same name get distinct ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from starlette.routing import BaseRoute, Mount

from .operation import DocumentedRoute, Family, Operation

OPENAPI_VERSION = "3.1.0"
_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


class _Generator(GenerateJsonSchema):
    def normalize_name(self, name: str) -> str:
        # a generic's short name reads as English: Envelope[Listing[Cdr]] -> CdrListingEnvelope
        # (the module-qualified fallbacks pydantic uses on a collision keep their form)
        if "[" in name and "." not in name:
            name = "".join(reversed([part for part in re.split(r"[\[\],\s]+", name) if part]))
        return super().normalize_name(name)


class _Schemas:
    """Collects (type, mode) pairs, then generates them all at once."""

    def __init__(self) -> None:
        self._inputs: list[tuple[Any, JsonSchemaMode]] = []
        self._index: dict[tuple[int, JsonSchemaMode], int] = {}
        self._done: dict[int, dict[str, Any]] = {}
        self.components: dict[str, Any] = {}

    def want(self, tp: Any, mode: JsonSchemaMode) -> int:
        key = (id(tp), mode)
        if key not in self._index:
            self._index[key] = len(self._inputs)
            self._inputs.append((tp, mode))
        return self._index[key]

    def generate(self) -> None:
        generator = _Generator(ref_template=_REF)
        inputs = [
            (i, mode, TypeAdapter(tp).core_schema) for i, (tp, mode) in enumerate(self._inputs)
        ]
        schemas, definitions = generator.generate_definitions(inputs)
        self._done = {key[0]: value for key, value in schemas.items()}
        self.components = dict(sorted(definitions.items()))

    def get(self, handle: int) -> dict[str, Any]:
        return self._done[handle]


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _content(media_type: str, schema: dict[str, Any], example: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"schema": schema}
    if example is not None:
        entry["example"] = example
    return {media_type: entry}


def documented(routes: Iterable[BaseRoute], prefix: str = "") -> list[tuple[str, DocumentedRoute]]:
    """Each `DocumentedRoute` with its full path, those inside a `Mount` included."""
    found: list[tuple[str, DocumentedRoute]] = []
    for item in routes:
        if isinstance(item, DocumentedRoute):
            found.append((prefix + item.path, item))
        elif isinstance(item, Mount):
            found += documented(item.routes, prefix + item.path)
    return found


def openapi_document(
    routes: Iterable[BaseRoute], *, title: str, version: str, description: str = ""
) -> dict[str, Any]:
    """The document of every `DocumentedRoute` among ``routes`` (others are left out)."""
    found = documented(routes)
    schemas = _Schemas()
    families: dict[str, Family] = {}
    wanted: list[tuple[str, str, Operation, dict[str, int]]] = []
    for path, item in found:
        for method, op in item.operations.items():
            families.setdefault(op.family.tag, op.family)
            handles = {"error": schemas.want(op.family.error, "serialization")}
            if op.reply.schema is not None:
                handles["ok"] = schemas.want(op.reply.schema, "serialization")
            if op.body is not None:
                handles["body"] = schemas.want(op.body, "validation")
            for param in op.params:
                handles["param:" + param.name] = schemas.want(param.schema, "validation")
            wanted.append((path, method, op, handles))
    schemas.generate()

    paths: dict[str, dict[str, Any]] = {}
    for path, method, op, handles in wanted:
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, op, handles, schemas)

    schemes: dict[str, Any] = {}
    for family in families.values():
        schemes.update({name: dict(scheme) for name, scheme in family.schemes.items()})
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    return {
        "openapi": OPENAPI_VERSION,
        "info": info,
        "tags": [{"name": f.tag, "description": f.description} for f in families.values()],
        "paths": paths,
        "components": {"schemas": schemas.components, "securitySchemes": schemes},
    }


def _operation(
    path: str, method: str, op: Operation, handles: dict[str, int], schemas: _Schemas
) -> dict[str, Any]:
    family = op.family
    out: dict[str, Any] = {
        "tags": [family.tag],
        "summary": op.summary,
        "operationId": _operation_id(method, path),
    }
    if op.description:
        out["description"] = op.description
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            **({"description": op.path_params[name]} if name in op.path_params else {}),
        }
        for name in _PATH_PARAM.findall(path)
    ]
    for param in op.params:
        entry: dict[str, Any] = {
            "name": param.name,
            "in": param.where,
            "required": param.required,
            "schema": schemas.get(handles["param:" + param.name]),
        }
        if param.description:
            entry["description"] = param.description
        params.append(entry)
    if params:
        out["parameters"] = params
    if "body" in handles:
        out["requestBody"] = {
            "required": op.body_required,
            "content": _content(op.body_media_type, schemas.get(handles["body"]), op.example),
        }
    reply = op.reply
    ok: dict[str, Any] = {"description": reply.description or "OK"}
    if "ok" in handles:
        ok["content"] = _content(reply.media_type, schemas.get(handles["ok"]), reply.example)
    responses: dict[str, Any] = {"200": ok}
    error = schemas.get(handles["error"])
    for status in sorted({*family.errors, *op.errors}):
        responses[str(status)] = {
            "description": _status_text(status),
            "content": _content("application/json", error, family.error_examples.get(status)),
        }
    out["responses"] = responses
    # every scheme of the requirement at once (CPaaS: both headers); none: an explicit []
    out["security"] = [{name: [] for name in family.requirement}] if family.requirement else []
    return out


def _operation_id(method: str, path: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", _PATH_PARAM.sub(r"by_\1", path)).strip("_")
    return f"{method.lower()}_{words}"
