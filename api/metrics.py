"""``GET /metrics``: the switch's Prometheus metrics (softswitch/metrics/), behind the
``[metrics]`` config: a Bearer token on the API listener, and/or a listener of its own
(`metrics_app`, started by softswitchd.server) for a management address."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from softswitch.metrics.registry import CONTENT_TYPE

if TYPE_CHECKING:
    from softswitch.config import MetricsConfig
    from softswitch.metrics.registry import Metrics

PATH = "/metrics"
_CHALLENGE = 'Bearer realm="softswitch-metrics"'


def _refused(message: str, challenge: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"status": 401, "message": message}},
        status_code=401,
        headers={"WWW-Authenticate": challenge},
    )


def metrics_route(metrics: Metrics, token: str) -> BaseRoute:
    """The endpoint; ``token`` "" serves anyone (only on the metrics listener)."""
    expected = token.encode()

    async def endpoint(request: Request) -> Response:
        if expected:
            header = request.headers.get("authorization")
            if header is None:
                return _refused(
                    "authentication required: Authorization: Bearer <token>", _CHALLENGE
                )
            scheme, _, given = header.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), expected
            ):
                return _refused("invalid metrics token", f'{_CHALLENGE}, error="invalid_token"')
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return Route(PATH, endpoint, methods=["GET"])


def routes(metrics: Metrics | None, config: MetricsConfig) -> list[BaseRoute]:
    """The API listener serves /metrics only with a token: without one, anyone who can
    reach the API could read it (the `listen` listener is the way to go without)."""
    if metrics is None or not config.token:
        return []
    return [metrics_route(metrics, config.token)]


def metrics_app(metrics: Metrics, config: MetricsConfig) -> Starlette:
    """What `[metrics] listen` serves: /metrics alone."""
    return Starlette(routes=[metrics_route(metrics, config.token)])
