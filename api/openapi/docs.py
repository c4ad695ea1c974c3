"""``/openapi.json`` and the docs page at ``/docs`` (Swagger UI).

Swagger UI's files come from the swagger-ui-py package (its ``static`` folder, served
under ``/docs/static``), so the page works with no network: nothing is loaded from a
CDN. The document is built on first request from the app's own routes, so every
route made with `api.openapi.operation.route` is in it, whichever module added it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .document import openapi_document

TITLE = "softswitch API"
DESCRIPTION = (
    "The CPaaS API (`account`/`auth` headers), the JAICP Calls API (the campaign token "
    "in the path) and the admin API (a bearer admin token). Press *Authorize* to enter "
    "credentials, then *Try it out* on any operation."
)
_STATE_KEY = "openapi_document"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>softswitch API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

# a file of its own rather than an inline script, so a Content-Security-Policy without
# 'unsafe-inline' keeps the page working
INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
  });
};
"""


def swagger_ui_dir() -> Path:
    """Swagger UI's files as the swagger-ui-py package installs them (found without
    importing the package, whose adapters we do not use)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (pip install swagger-ui-py)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def _version() -> str:
    try:
        return importlib.metadata.version("softswitch")
    except importlib.metadata.PackageNotFoundError:
        return "0"


def document_of(app: Any) -> dict[str, Any]:
    """The app's document, built once (the routes do not change while it runs)."""
    found = getattr(app.state, _STATE_KEY, None)
    if found is None:
        found = openapi_document(
            app.routes, title=TITLE, version=_version(), description=DESCRIPTION
        )
        setattr(app.state, _STATE_KEY, found)
    return found


def routes() -> list[BaseRoute]:
    async def openapi_json(request: Request) -> Response:
        return JSONResponse(document_of(request.app))

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def init(request: Request) -> Response:
        return Response(INIT, media_type="text/javascript")

    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", page, methods=["GET"]),
        Route("/docs/init.js", init, methods=["GET"]),
        Mount("/docs/static", StaticFiles(directory=swagger_ui_dir()), name="docs-static"),
    ]
