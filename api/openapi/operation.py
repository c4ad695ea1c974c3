"""What a route says about itself for the OpenAPI document.

Register a route's schema by making it with `route()` instead of Starlette's `Route`:

    route("/api/things", handler, {
        "GET": Operation("List the things", CPAAS, ok=Envelope[ThingsReply]),
        "POST": Operation("Add a thing", CPAAS, body=ThingCreate, ok=Envelope[ThingReply],
                          errors=(409,), example={"name": "x"}),
    })

The methods the route answers are the keys of that mapping, so the document cannot list
a method the route does not take, nor miss one it does. Types are pydantic models or
anything `pydantic.TypeAdapter` takes (``list[int]``, a ``Literal``, ...): the document
generates their JSON schemas. A `Family` holds what its operations share: the error
body, the statuses any of them may answer, the security schemes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import Route

JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Reply:
    """One response body: its type (None: no body), media type and an example."""

    schema: Any
    media_type: str = JSON
    description: str = ""
    example: Any = None


@dataclass(frozen=True, slots=True)
class Param:
    """A query or header parameter (path parameters come from the path itself)."""

    name: str
    where: str  # "query" | "header"
    description: str = ""
    schema: Any = str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Family:
    """An API family: its tag, error body, the error statuses any of its operations may
    answer, its security schemes (name -> OpenAPI security scheme object), the
    requirement its operations carry (scheme names that must all be given) and example
    error bodies by status."""

    tag: str
    description: str
    error: Any
    errors: tuple[int, ...]
    schemes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    requirement: tuple[str, ...] = ()
    error_examples: Mapping[int, Any] = field(default_factory=dict)  # status -> body


@dataclass(frozen=True, slots=True)
class Operation:
    """One method of a route. ``ok`` is the 200 reply (a type, or a `Reply` for another
    media type); ``errors`` are statuses beyond the family's; ``example`` is the request
    body's example and ``ok_example`` the reply's (the specs' own where they have one)."""

    summary: str
    family: Family
    ok: Any
    body: Any = None
    body_media_type: str = JSON
    errors: tuple[int, ...] = ()
    description: str = ""
    params: tuple[Param, ...] = ()
    path_params: Mapping[str, str] = field(default_factory=dict)  # name -> description
    example: Any = None
    ok_example: Any = None
    body_required: bool = True

    @property
    def reply(self) -> Reply:
        return self.ok if isinstance(self.ok, Reply) else Reply(self.ok, example=self.ok_example)


class DocumentedRoute(Route):
    """A Starlette route that carries its `Operation`s."""

    def __init__(
        self, path: str, endpoint: Callable[..., Any], operations: Mapping[str, Operation]
    ) -> None:
        super().__init__(path, endpoint, methods=list(operations))
        self.operations = dict(operations)


def route(
    path: str, endpoint: Callable[..., Any], operations: Mapping[str, Operation]
) -> DocumentedRoute:
    return DocumentedRoute(path, endpoint, operations)
