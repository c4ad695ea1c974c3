"""The OpenAPI document and the docs page, from the whole app (api.app.create_app):
every API route is in the document with its family's auth and error envelope, the
examples match their schemas, and /docs loads with nothing but our own assets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from openapi_spec_validator import validate
from starlette.routing import Mount, Route

from api.app import create_app
from api.context import AppContext
from api.openapi.operation import DocumentedRoute
from media.tts import Tts
from softswitch.calls import CallService
from softswitch.store.cdrs import CdrStore
from softswitch.switch import Switch
from tests.switch_harness import switch_config

API_PATHS = ("/api/", "/health", "/stop_campaign")


@pytest.fixture
async def app_client(tmp_path: Path, ports: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    config = switch_config(tmp_path, ports.port(), 29700, extensions={"101": "pw101"})
    switch = Switch(config, announce=lambda line: None)
    await switch.start()
    tts = Tts(Path(config.media.prompts_dir), engine="flite", allow_online=False)
    calls = CallService(
        switch,
        tts,
        CdrStore(switch.store.db),
        recordings_dir=config.media.recordings_dir,
        uploads_dir=config.media.uploads_dir,
    )
    app = create_app(AppContext(switch=switch, calls=calls, tts=tts))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://docs.test"
    ) as client:
        yield app, client
    await calls.stop(grace=0.5)
    await switch.stop()
    switch.store.close()


async def test_every_api_route_is_documented_with_its_methods(app_client) -> None:
    app, client = app_client
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    checked = 0
    for route in app.routes:
        # the APIs' routes (pages, static files and /openapi.json itself are not API)
        if isinstance(route, Mount) or not route.path.startswith(API_PATHS):
            continue
        # a route of an API must be made with api.openapi.operation.route
        assert isinstance(route, DocumentedRoute), f"{route.path} is not in /openapi.json"
        assert isinstance(route, Route) and route.methods is not None
        documented = {m.upper() for m in document["paths"][route.path]}
        assert documented == route.methods - {"HEAD"}, route.path
        checked += 1
    assert checked == len(document["paths"]) >= 50
    for path in ("/api/click2call", "/api/numbers/{number}", "/api/voicemail/{extension}/messages"):
        assert path in document["paths"]
    assert "/api/calls/campaign/{token}/addPhones" in document["paths"]
    assert "/api/admin/extensions/{number}/features" in document["paths"]


async def test_the_document_is_valid_openapi_3_1(app_client) -> None:
    _, client = app_client
    document = (await client.get("/openapi.json")).json()
    validate(document)  # the OpenAPI 3.1 schema, and every $ref resolves


async def test_each_family_has_its_auth_and_error_envelope(app_client) -> None:
    _, client = app_client
    document = (await client.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["account"] == {
        "type": "apiKey",
        "in": "header",
        "name": "account",
        "description": schemes["account"]["description"],
    }
    assert schemes["auth"]["in"] == "header" and schemes["auth"]["name"] == "auth"
    assert schemes["adminToken"]["scheme"] == "bearer"
    paths = document["paths"]
    click2call = paths["/api/click2call"]["post"]
    assert click2call["security"] == [{"account": [], "auth": []}]
    error = click2call["responses"]["401"]["content"]["application/json"]["schema"]
    failure = {"response": {"message": "invalid account or auth", "success": "false"}}
    validator = jsonschema_rs.validator_for({**error, "components": document["components"]})
    assert validator.is_valid(failure)
    assert not validator.is_valid({"type": "token.invalid", "message": "invalid token"})
    add = paths["/api/calls/campaign/{token}/addPhones"]["post"]
    assert add["security"] == []  # the token in the path is the credential
    assert add["parameters"][0]["name"] == "token"
    assert add["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CallsError"
    }
    assert "phonesDuplicates" in document["components"]["schemas"]["CallsError"]["properties"]
    admin = paths["/api/admin/extensions"]["get"]
    assert admin["security"] == [{"adminToken": []}]


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


async def test_the_specs_examples_match_their_schemas(app_client) -> None:
    _, client = app_client
    document = (await client.get("/openapi.json")).json()
    checked = 0
    for path, item in document["paths"].items():
        for method, op in item.items():
            contents = [op.get("requestBody", {}).get("content", {})]
            contents += [r.get("content", {}) for r in op["responses"].values()]
            for content in contents:
                for media in content.values():
                    if "example" in media:
                        errors = list(
                            _resolve(media["schema"], document).iter_errors(media["example"])
                        )
                        assert not errors, f"{method} {path}: {errors[0]}"
                        checked += 1
    assert checked >= 30


async def test_docs_page_loads_offline(app_client) -> None:
    _, client = app_client
    page = await client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) >= 4
    for url in assets:
        # ours: a path on this server, never another host (no CDN)
        assert url.startswith("/"), url
        answer = await client.get(url)
        assert answer.status_code == 200, url
        assert answer.content, url
    init = (await client.get("/docs/init.js")).text
    assert '"/openapi.json"' in init
    bundle = await client.get("/docs/static/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"]
    assert "SwaggerUIBundle" in bundle.text
    assert (
        (await client.get("/docs/static/swagger-ui.css"))
        .headers["content-type"]
        .startswith("text/css")
    )
    assert (await client.get("/docs/static/../../app.py")).status_code == 404
