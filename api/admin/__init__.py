"""The admin API (``/api/admin/...``): the switch's own configuration and state, for its
operator, behind an admin token (`softswitch admin token`), apart from the two spec APIs
and their CPaaS accounts: extensions and their registrations (read-only), their call
forwarding and DND; the switch's status (trunks, phones, live calls), every live
channel, and the CDRs of every account (what `softswitch status|calls|cdr` show)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.openapi.operation import Operation, route
from softswitch.identity import AuthGuard
from softswitch.store.admin_tokens import AdminTokenStore
from softswitch.store.cdrs import CdrStore

from .auth import AdminAuth, default_guard
from .cdrs import CdrsView
from .errors import AdminError
from .extensions import ExtensionsView
from .features import FeaturesView
from .live import LiveView
from .models import ADMIN, Extension, Extensions, Features, FeaturesPatch

if TYPE_CHECKING:
    from api.context import AppContext

Handler = Callable[[Request], Awaitable[Response]]


def routes(ctx: AppContext, guard: AuthGuard | None = None) -> list[BaseRoute]:
    """guard: the per-address failure counter (a fresh default one per app)."""
    auth = AdminAuth(AdminTokenStore(ctx.store.db), guard or default_guard())

    def admin(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                auth.check(request)
                return await handler(request)
            except AdminError as exc:
                return exc.response()

        return endpoint

    extensions = ExtensionsView(ctx.switch)
    features = FeaturesView(ctx.switch)
    live = LiveView(ctx.switch, ctx.calls)
    cdrs = CdrsView(CdrStore(ctx.store.db))
    number = {"number": "the extension's number"}
    return [
        Route("/api/admin/status", admin(live.status), methods=["GET"]),
        Route("/api/admin/calls", admin(live.calls_index), methods=["GET"]),
        Route("/api/admin/cdrs", admin(cdrs.index), methods=["GET"]),
        route(
            "/api/admin/extensions",
            admin(extensions.index),
            {"GET": Operation("Every extension and its registrations", ADMIN, ok=Extensions)},
        ),
        route(
            "/api/admin/extensions/{number}",
            admin(extensions.show),
            {
                "GET": Operation(
                    "One extension", ADMIN, ok=Extension, errors=(404,), path_params=number
                )
            },
        ),
        route(
            "/api/admin/extensions/{number}/features",
            admin(features.dispatch),
            {
                "GET": Operation(
                    "An extension's call forwarding and DND",
                    ADMIN,
                    ok=Features,
                    errors=(404,),
                    path_params=number,
                ),
                "PATCH": Operation(
                    "Change call forwarding and DND",
                    ADMIN,
                    body=FeaturesPatch,
                    ok=Features,
                    errors=(400, 404, 413),
                    path_params=number,
                    example={"forward_busy": "102", "dnd": False},
                ),
            },
        ),
    ]
