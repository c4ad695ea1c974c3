"""The admin API (``/api/admin/...``): the switch's own configuration and state, for its
operator, behind an admin token (`softswitch admin token`), apart from the two spec APIs
and their CPaaS accounts: extensions (settings, registrations; added, changed, reset and
removed at run time), trunks and inbound numbers (the same), call forwarding and DND;
the switch's status (trunks, phones, live calls), every live
channel, and the CDRs of every account (what `softswitch status|calls|cdr` show)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.openapi.operation import Operation, Param, route
from softswitch.identity import AuthGuard
from softswitch.numbers import InboundNumber
from softswitch.store.admin_tokens import AdminTokenStore
from softswitch.store.cdrs import CdrStore

from .auth import AdminAuth, default_guard
from .cdrs import MAX_LIMIT, CdrsView
from .drain import DrainView
from .errors import AdminError
from .extensions import ExtensionsView
from .features import FeaturesView
from .live import LiveView
from .models import (
    ADMIN,
    AdminCdrs,
    AdminNumbers,
    Drain,
    Extension,
    ExtensionChanges,
    ExtensionCreated,
    ExtensionPassword,
    ExtensionRemoved,
    Extensions,
    Features,
    FeaturesPatch,
    LiveChannels,
    NewExtension,
    NewTrunk,
    NumberRemoved,
    Status,
    TrunkChanges,
    TrunkList,
    TrunkRemoved,
    TrunkSettings,
)
from .numbers import NumbersView
from .trunks import TrunksView

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
    trunk = {"name": "the trunk's name"}
    did = {"number": "the inbound number (its digits)"}
    trunks = TrunksView(ctx.switch)
    numbers = NumbersView(ctx.switch)
    when = "a unix time or an ISO 8601 date/time (UTC unless it names a zone)"
    cluster: list[BaseRoute] = []
    if ctx.config.cluster.enabled:
        drain = DrainView(ctx.switch)
        cluster.append(
            route(
                "/api/admin/drain",
                admin(drain.dispatch),
                {
                    "GET": Operation("Is this cluster node draining", ADMIN, ok=Drain),
                    "POST": Operation(
                        "Drain: the front door sends new calls to the other nodes",
                        ADMIN,
                        ok=Drain,
                    ),
                    "DELETE": Operation("Back in the front door's rotation", ADMIN, ok=Drain),
                },
            )
        )
    return cluster + [
        route(
            "/api/admin/status",
            admin(live.status),
            {"GET": Operation("Trunks, registered phones and call counts", ADMIN, ok=Status)},
        ),
        route(
            "/api/admin/calls",
            admin(live.calls_index),
            {"GET": Operation("Every live channel, oldest first", ADMIN, ok=LiveChannels)},
        ),
        route(
            "/api/admin/cdrs",
            admin(cdrs.index),
            {
                "GET": Operation(
                    "The CDRs of every account (or one) in a time window, oldest first",
                    ADMIN,
                    ok=AdminCdrs,
                    errors=(400,),
                    params=(
                        Param("since", "query", when + "; default: 24 hours ago"),
                        Param("until", "query", when + "; default: now"),
                        Param("account", "query", "only this account's CDRs"),
                        Param(
                            "limit",
                            "query",
                            f"at most this many CDRs (1 to {MAX_LIMIT}; default 100)",
                            Annotated[int, Field(ge=1, le=MAX_LIMIT)],
                        ),
                    ),
                )
            },
        ),
        route(
            "/api/admin/extensions",
            admin(extensions.collection),
            {
                "GET": Operation(
                    "Every extension, its settings and registrations", ADMIN, ok=Extensions
                ),
                "POST": Operation(
                    "Add an extension; its generated password is in this answer only",
                    ADMIN,
                    body=NewExtension,
                    ok=ExtensionCreated,
                    errors=(400, 409, 413),
                    example={"number": "103", "name": "Reception", "transports": ["TLS"]},
                ),
            },
        ),
        route(
            "/api/admin/extensions/{number}",
            admin(extensions.member),
            {
                "GET": Operation(
                    "One extension", ADMIN, ok=Extension, errors=(404,), path_params=number
                ),
                "PATCH": Operation(
                    "Change an extension's settings (at once, no restart)",
                    ADMIN,
                    body=ExtensionChanges,
                    ok=Extension,
                    errors=(400, 404, 413),
                    path_params=number,
                    example={"max_devices": 2, "voicemail": False},
                ),
                "DELETE": Operation(
                    "Remove an extension and its registrations (its live calls go on)",
                    ADMIN,
                    ok=ExtensionRemoved,
                    errors=(404,),
                    path_params=number,
                ),
            },
        ),
        route(
            "/api/admin/extensions/{number}/password",
            admin(extensions.reset),
            {
                "POST": Operation(
                    "A new generated password (shown once); the old one and its"
                    " registrations stop at once",
                    ADMIN,
                    ok=ExtensionPassword,
                    errors=(404,),
                    path_params=number,
                    body_required=False,
                )
            },
        ),
        route(
            "/api/admin/trunks",
            admin(trunks.collection),
            {
                "GET": Operation("Every trunk, its settings and state", ADMIN, ok=TrunkList),
                "POST": Operation(
                    "Add a trunk (it registers at once)",
                    ADMIN,
                    body=NewTrunk,
                    ok=TrunkSettings,
                    errors=(400, 409, 413),
                    example={
                        "name": "carrier",
                        "host": "sip.example.net",
                        "username": "trunkuser",
                        "password": "trunkpass",
                    },
                ),
            },
        ),
        route(
            "/api/admin/trunks/{name}",
            admin(trunks.member),
            {
                "GET": Operation(
                    "One trunk", ADMIN, ok=TrunkSettings, errors=(404,), path_params=trunk
                ),
                "PATCH": Operation(
                    "Change a trunk (it re-registers; live calls go on)",
                    ADMIN,
                    body=TrunkChanges,
                    ok=TrunkSettings,
                    errors=(400, 404, 413),
                    path_params=trunk,
                    example={"prefixes": ["1"]},
                ),
                "DELETE": Operation(
                    "Remove a trunk (it unregisters; live calls go on)",
                    ADMIN,
                    ok=TrunkRemoved,
                    errors=(404,),
                    path_params=trunk,
                ),
            },
        ),
        route(
            "/api/admin/numbers",
            admin(numbers.collection),
            {
                "GET": Operation("Every account's inbound numbers", ADMIN, ok=AdminNumbers),
                "POST": Operation(
                    "Add an inbound number (DID) for an account",
                    ADMIN,
                    body=InboundNumber,
                    ok=InboundNumber,
                    errors=(400, 409, 413),
                    example={
                        "number": "+15550100",
                        "account": "account_1",
                        "destination": "extension:101",
                    },
                ),
            },
        ),
        route(
            "/api/admin/numbers/{number}",
            admin(numbers.member),
            {
                "GET": Operation(
                    "One inbound number", ADMIN, ok=InboundNumber, errors=(404,), path_params=did
                ),
                "PUT": Operation(
                    "Replace an inbound number's destination and hours",
                    ADMIN,
                    body=InboundNumber,
                    ok=InboundNumber,
                    errors=(400, 404, 413),
                    path_params=did,
                ),
                "DELETE": Operation(
                    "Remove an inbound number",
                    ADMIN,
                    ok=NumberRemoved,
                    errors=(404,),
                    path_params=did,
                ),
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
