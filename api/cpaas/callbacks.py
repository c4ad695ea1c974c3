"""`/api/callback`: click2calls scheduled in the client's time zone (create, move, delete).

The scheduler that fires them is `softswitch.callbacks.CallbackScheduler`; this module
only validates and stores. A GET lists the account's callbacks with their status, so a
client can see which were placed, failed or missed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.openapi.operation import Operation, route
from softswitch.store.callbacks import Callback, CallbackStatus, CallbackStore
from softswitch.store.engine import UniqueViolation

from .auth import account_of
from .body import parse_body
from .models import CallbackCreate, CallbackUpdate, RequestIdBody, recording
from .numbers import check_dialable
from .replies import CPAAS, CallbackItem, Envelope, Listing, RequestIdDone, RequestIdReply
from .responses import ApiError, endpoint, listed, ok

if TYPE_CHECKING:
    from api.context import AppContext

SCHEDULE_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_AHEAD = 366 * 86400  # a callback more than a year ahead is a typo


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a directory
        raise ApiError(
            f"time_zone: unknown time zone {name!r} (use an IANA name such as Asia/Kolkata)"
        ) from None


def due_time(scheduled_at: str, zone_name: str, now: float) -> float:
    """The unix time of a local ``YYYY-mm-dd hh:mm:ss`` in ``zone_name``; must be ahead."""
    tz = zone(zone_name)
    try:
        local = datetime.strptime(scheduled_at.strip(), SCHEDULE_FORMAT)
    except ValueError:
        raise ApiError(f"scheduled_at: {scheduled_at!r} is not YYYY-mm-dd hh:mm:ss") from None
    aware = local.replace(tzinfo=tz)
    # A wall time inside a DST gap does not exist: it would not survive a round trip.
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local:
        raise ApiError(
            f"scheduled_at: {scheduled_at} does not exist in {zone_name} (daylight saving gap)"
        )
    due = aware.timestamp()
    if due <= now:
        raise ApiError(f"scheduled_at: {scheduled_at} {zone_name} is in the past")
    if due > now + MAX_AHEAD:
        raise ApiError(f"scheduled_at: {scheduled_at} is more than a year ahead")
    return due


def callback_json(cb: Callback) -> dict[str, object]:
    return {
        "request_id": cb.request_id,
        "agent_number": cb.agent_number,
        "destination_number": cb.destination_number,
        "caller_id": cb.caller_id,
        "recording_option": cb.recording_option,
        "transcript": "on" if cb.transcript else "off",
        "time_zone": cb.time_zone,
        "scheduled_at": cb.scheduled_at,
        "status": cb.status,
        "error": cb.error,
    }


def routes(ctx: AppContext, clock: Callable[[], float] = time.time) -> list[BaseRoute]:
    store = CallbackStore(ctx.store.db)

    async def create(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, CallbackCreate)
        now = clock()
        cb = Callback(
            request_id=secrets.token_hex(5),
            account_id=account.id,
            agent_number=check_dialable(ctx, "agent_number", body.agent_number),
            destination_number=check_dialable(ctx, "destination_number", body.destination_number),
            caller_id=body.caller_id,
            recording_option=recording(body.recording_option),
            transcript=body.transcript == "on",
            time_zone=body.time_zone.strip(),
            scheduled_at=body.scheduled_at.strip(),
            due_at=due_time(body.scheduled_at, body.time_zone.strip(), now),
            status=CallbackStatus.PENDING,
            created_at=now,
        )
        for _ in range(3):  # a request_id collision is astronomically rare, never fatal
            try:
                store.insert(cb)
                break
            except UniqueViolation:
                cb.request_id = secrets.token_hex(5)
        else:
            raise ApiError("could not allocate a request_id", 500)
        return ok(request_id=cb.request_id)

    def pending(account_id: str, request_id: str) -> Callback:
        cb = store.get(account_id, request_id)
        if cb is None:
            raise ApiError(f"request_id: no callback {request_id}", 404)
        if cb.status is not CallbackStatus.PENDING:
            raise ApiError(
                f"request_id: callback {request_id} is {cb.status}, it can no longer be changed",
                409,
            )
        return cb

    async def update(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, CallbackUpdate)
        cb = pending(account.id, body.request_id)
        if body.agent_number is not None:
            cb.agent_number = check_dialable(ctx, "agent_number", body.agent_number)
        if body.destination_number is not None:
            cb.destination_number = check_dialable(
                ctx, "destination_number", body.destination_number
            )
        if body.caller_id is not None:
            cb.caller_id = body.caller_id
        if body.recording_option is not None:
            cb.recording_option = recording(body.recording_option)
        if body.transcript is not None:
            cb.transcript = body.transcript == "on"
        if body.time_zone is not None or body.scheduled_at is not None:
            cb.time_zone = (body.time_zone or cb.time_zone).strip()
            cb.scheduled_at = (body.scheduled_at or cb.scheduled_at).strip()
            cb.due_at = due_time(cb.scheduled_at, cb.time_zone, clock())
        if not store.update_pending(cb):  # fired between our read and this write
            raise ApiError(f"request_id: callback {cb.request_id} has just been placed", 409)
        return ok(message="callback data modified successfully", request_id=cb.request_id)

    async def delete(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, RequestIdBody)
        pending(account.id, body.request_id)
        if not store.delete_pending(account.id, body.request_id):
            raise ApiError(f"request_id: callback {body.request_id} has just been placed", 409)
        return ok(message="callback request deleted successfully", request_id=body.request_id)

    async def listing(request: Request) -> Response:
        account = await account_of(request, ctx)
        items = [callback_json(cb) for cb in store.all(account.id)]
        return listed("callbacks", items)

    handlers = {
        "POST": endpoint(create),
        "PATCH": endpoint(update),
        "DELETE": endpoint(delete),
        "GET": endpoint(listing),
    }

    async def dispatch(request: Request) -> Response:
        return await handlers[request.method](request)

    done = {"message": "callback data modified successfully", "request_id": "fd5ff6e021"}
    operations = {
        "POST": Operation(
            "Schedule a click2call at a local time",
            CPAAS,
            body=CallbackCreate,
            ok=Envelope[RequestIdReply],
            example={
                "agent_number": "91997927XXXX",
                "caller_id": "15168148111",
                "destination_number": "91800068XXXX",
                "recording_option": "off",
                "time_zone": "Asia/Kolkata",
                "scheduled_at": "2023-08-15 12:55:00",
            },
            ok_example={"response": {"request_id": "fd5ff6e021", "success": "true"}},
        ),
        "PATCH": Operation(
            "Change a pending callback",
            CPAAS,
            body=CallbackUpdate,
            ok=Envelope[RequestIdDone],
            errors=(404, 409),
            example={
                "request_id": "fd5ff6e021",
                "agent_number": "91997927XXXX",
                "caller_id": "15168148111",
                "destination_number": "91800068XXXX",
                "recording_option": "on",
                "scheduled_at": "2023-08-16 09:00:02",
            },
            ok_example={"response": done | {"success": "true"}},
        ),
        "DELETE": Operation(
            "Delete a pending callback",
            CPAAS,
            body=RequestIdBody,
            ok=Envelope[RequestIdDone],
            errors=(404, 409),
            example={"request_id": "fd5ff6e021"},
            ok_example={
                "response": {
                    "message": "callback request deleted successfully",
                    "request_id": "fd5ff6e021",
                    "success": "true",
                }
            },
        ),
        "GET": Operation(
            "The account's callbacks and their status", CPAAS, ok=Envelope[Listing[CallbackItem]]
        ),
    }
    return [route("/api/callback", dispatch, operations)]
