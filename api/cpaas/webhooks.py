"""`/api/webhooks`: an account's status_callback and signing secret, and its deliveries.

- ``GET /api/webhooks/settings``: the URL (never the secret: it is shown once)
- ``PUT /api/webhooks/settings`` ``{"status_callback": "https://..."}``: set it ("" clears
  it); the first time, the answer carries the new secret
- ``POST /api/webhooks/secret``: rotate the secret; the answer carries the new one
- ``GET /api/webhooks/deliveries?status=failed&record_count=50&offset=0``: the events,
  newest first, each with its delivery attempts

The switch side is `softswitch.webhooks` (settings, events, the delivery worker).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.openapi.operation import Operation, Param, route
from softswitch.store.webhooks import DeliveryStatus, OutboxEvent, WebhookSettings
from softswitch.webhooks.events import iso
from softswitch.webhooks.service import Webhooks
from softswitch.webhooks.settings import WebhookUrlError

from .auth import account_of
from .body import parse_body, validate
from .models import DeliveriesQuery, WebhookSettingsBody
from .replies import (
    CPAAS,
    Deliveries,
    Envelope,
    WebhookSecretRotated,
    WebhookSettingsReply,
    WebhookSettingsSet,
)
from .responses import ApiError, endpoint, ok

if TYPE_CHECKING:
    from api.context import AppContext


def settings_json(settings: WebhookSettings | None) -> dict[str, Any]:
    if settings is None:
        return {"status_callback": "", "secret_set": "false", "updated_at": ""}
    return {
        "status_callback": settings.url,
        "secret_set": "true",
        "updated_at": iso(settings.updated_at),
    }


def delivery_json(event: OutboxEvent) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "type": event.type,
        "request_id": event.request_id,
        "created_at": iso(event.created_at),
        "status": event.status.value,
        "attempts": [
            {
                "number": a.number,
                "at": iso(a.at),
                "status_code": a.status_code,
                "error": a.error,
                "duration": a.duration,
            }
            for a in event.tried
        ],
        "next_attempt_at": (
            iso(event.next_attempt_at) if event.status is DeliveryStatus.PENDING else ""
        ),
        "payload": json.loads(event.body),  # what is (or was) posted
    }


def routes(ctx: AppContext) -> list[BaseRoute]:
    def service() -> Webhooks:
        if ctx.webhooks is None:
            raise ApiError("webhooks are not available on this server", 503)
        return ctx.webhooks

    async def get_settings(request: Request) -> Response:
        account = await account_of(request, ctx)
        return ok(**settings_json(service().settings.get(account.id)))

    async def put_settings(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, WebhookSettingsBody)
        try:
            change = await service().settings.set_url(account.id, body.status_callback)
        except WebhookUrlError as exc:
            raise ApiError(str(exc)) from None
        fields = settings_json(change.settings)
        if change.new_secret is not None:
            fields["secret"] = change.new_secret
        message = "status_callback set" if change.settings.url else "status_callback cleared"
        return ok(message=message, **fields)

    async def rotate(request: Request) -> Response:
        account = await account_of(request, ctx)
        change = service().settings.rotate_secret(account.id)
        return ok(
            message="webhook secret rotated: sign checks use it from now on",
            secret=change.new_secret,
            **settings_json(change.settings),
        )

    async def deliveries(request: Request) -> Response:
        account = await account_of(request, ctx)
        query = validate(DeliveriesQuery, dict(request.query_params))
        status = DeliveryStatus(query.status) if query.status else None
        events, total = service().deliveries(account.id, status, query.record_count, query.offset)
        return ok(
            message="deliveries found" if events else "no deliveries",
            total=total,
            result=[delivery_json(e) for e in events],
        )

    settings_handlers = {"GET": endpoint(get_settings), "PUT": endpoint(put_settings)}

    async def settings_dispatch(request: Request) -> Response:
        return await settings_handlers[request.method](request)

    # 503: a server started without the webhook service
    return [
        route(
            "/api/webhooks/settings",
            settings_dispatch,
            {
                "GET": Operation(
                    "The account's status_callback (never its secret)",
                    CPAAS,
                    ok=Envelope[WebhookSettingsReply],
                    errors=(503,),
                ),
                "PUT": Operation(
                    'Set the status_callback ("" clears it)',
                    CPAAS,
                    body=WebhookSettingsBody,
                    ok=Envelope[WebhookSettingsSet],
                    errors=(503,),
                    description="The first time, the reply carries the new signing secret.",
                    example={"status_callback": "https://example.com/softswitch-events"},
                ),
            },
        ),
        route(
            "/api/webhooks/secret",
            endpoint(rotate),
            {
                "POST": Operation(
                    "Rotate the signing secret",
                    CPAAS,
                    ok=Envelope[WebhookSecretRotated],
                    errors=(503,),
                )
            },
        ),
        route(
            "/api/webhooks/deliveries",
            endpoint(deliveries),
            {
                "GET": Operation(
                    "The account's events, newest first, each with its delivery attempts",
                    CPAAS,
                    ok=Envelope[Deliveries],
                    errors=(503,),
                    params=(
                        Param(
                            "status",
                            "query",
                            "only events in this state",
                            Literal["pending", "delivered", "failed"],
                        ),
                        Param(
                            "record_count",
                            "query",
                            "at most this many (default 50)",
                            Annotated[int, Field(ge=1, le=1000)],
                        ),
                        Param(
                            "offset",
                            "query",
                            "skip this many",
                            Annotated[int, Field(ge=0, le=1_000_000_000)],
                        ),
                    ),
                )
            },
        ),
    ]
