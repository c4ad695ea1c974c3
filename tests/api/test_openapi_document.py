"""api.openapi.document on routes made for the test: what a route's Operations become in
the document (paths, methods, parameters, bodies, replies, errors, security, schemas)."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, create_model
from starlette.responses import Response
from starlette.routing import Mount, Route

from api.openapi.document import openapi_document
from api.openapi.operation import Family, Operation, Param, Reply, route

T = TypeVar("T")


class Oops(BaseModel):
    message: str


class Wrapped(BaseModel, Generic[T]):
    response: T


class Item(BaseModel):
    name: str
    size: int = 0


class Listing(BaseModel, Generic[T]):
    result: list[T]


KEYED = Family(
    "Keyed",
    "a header key",
    error=Oops,
    errors=(400, 401),
    schemes={"key": {"type": "apiKey", "in": "header", "name": "key"}},
    requirement=("key",),
    error_examples={401: {"message": "no key"}},
)
OPEN = Family("Open", "no credentials", error=Oops, errors=(500,))


async def handler(request: Any) -> Response:
    return Response()


def build(*routes: Any) -> dict[str, Any]:
    return openapi_document(routes, title="t", version="1")


def test_operations_become_paths_with_their_parts() -> None:
    document = build(
        route(
            "/things/{thing_id}",
            handler,
            {
                "GET": Operation(
                    "Get one",
                    KEYED,
                    ok=Wrapped[Item],
                    errors=(404,),
                    path_params={"thing_id": "which"},
                    params=(Param("verbose", "query", "more", Literal["yes", "no"]),),
                    ok_example={"response": {"name": "a", "size": 1}},
                ),
                "PUT": Operation(
                    "Replace", KEYED, ok=Wrapped[Item], body=Item, example={"name": "b"}
                ),
            },
        ),
        Route("/plain", handler),  # not documented: left out
    )
    assert document["openapi"] == "3.1.0"
    assert list(document["paths"]) == ["/things/{thing_id}"]
    item = document["paths"]["/things/{thing_id}"]
    assert set(item) == {"get", "put"}
    get = item["get"]
    assert get["parameters"][0] == {
        "name": "thing_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "which",
    }
    assert get["parameters"][1]["in"] == "query"
    assert get["parameters"][1]["schema"] == {"enum": ["yes", "no"], "type": "string"}
    assert set(get["responses"]) == {"200", "400", "401", "404"}
    assert get["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Oops"
    }
    assert get["responses"]["401"]["content"]["application/json"]["example"] == {
        "message": "no key"
    }
    assert "example" not in get["responses"]["400"]["content"]["application/json"]
    ok = get["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"$ref": "#/components/schemas/ItemWrapped"}
    assert ok["example"] == {"response": {"name": "a", "size": 1}}
    assert get["security"] == [{"key": []}]
    assert get["tags"] == ["Keyed"]
    put = item["put"]["requestBody"]
    assert put["required"] is True
    assert put["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Item"}
    assert put["content"]["application/json"]["example"] == {"name": "b"}
    assert item["get"]["operationId"] != item["put"]["operationId"]
    schemas = document["components"]["schemas"]
    assert schemas["ItemWrapped"]["properties"]["response"] == {"$ref": "#/components/schemas/Item"}
    assert schemas["Item"]["required"] == ["name"]
    assert document["components"]["securitySchemes"] == {
        "key": {"type": "apiKey", "in": "header", "name": "key"}
    }
    assert document["tags"] == [{"name": "Keyed", "description": "a header key"}]


def test_a_family_without_credentials_says_so_and_other_media_types_are_kept() -> None:
    document = build(
        route(
            "/files/{name}",
            handler,
            {"GET": Operation("A file", OPEN, ok=Reply(bytes, "audio/wav", "the file"))},
        )
    )
    get = document["paths"]["/files/{name}"]["get"]
    assert get["security"] == []
    assert get["responses"]["200"]["description"] == "the file"
    assert list(get["responses"]["200"]["content"]) == ["audio/wav"]
    assert set(get["responses"]) == {"200", "500"}


def test_nested_generics_read_as_english_and_same_names_stay_apart() -> None:
    first = create_model("Row", a=(int, ...))
    second = create_model("Row", b=(str, ...))
    document = build(
        route("/one", handler, {"GET": Operation("one", OPEN, ok=Wrapped[Listing[first]])}),
        route("/two", handler, {"GET": Operation("two", OPEN, ok=second)}),
    )
    schemas = document["components"]["schemas"]
    assert "RowListingWrapped" in schemas
    rows = [s for s in schemas.values() if s.get("title") == "Row"]
    assert len(rows) == 2  # one component each, under different names
    assert {tuple(r["properties"]) for r in rows} == {("a",), ("b",)}


def test_routes_inside_a_mount_are_found_with_its_prefix() -> None:
    inner = route("/deliveries", handler, {"GET": Operation("list", OPEN, ok=list[Item])})
    document = build(Mount("/api/hooks", routes=[inner]), Mount("/static", app=handler))
    assert list(document["paths"]) == ["/api/hooks/deliveries"]


def test_route_answers_exactly_the_documented_methods() -> None:
    made = route(
        "/x",
        handler,
        {"GET": Operation("x", OPEN, ok=Item), "PATCH": Operation("y", OPEN, ok=Item)},
    )
    assert made.methods == {"GET", "HEAD", "PATCH"}
    assert set(made.operations) == {"GET", "PATCH"}
