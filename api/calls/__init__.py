"""The JAICP Calls API (../shared/specs/calls-api-*.txt, calls-api-notes.md).

The campaign token in the path is the only credential: wrong ones are throttled like
CPaaS logins (api.guard; the campaign id in the token stands for the account). Errors
are JAICP-shaped (`errors`), reports too (`reports`). Handlers are thin: the campaign
manager does the work, the dialer is woken through the manager's listeners.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute

from api.guard import login_guard, source_of
from api.openapi.operation import Operation, Param, Reply, route
from softswitch.campaigns.errors import CampaignError, ErrorKind
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import Campaign, CampaignStatus
from softswitch.login_guard import Throttled

from .errors import RequestError, campaign_error, internal_error, request_error, throttled_error
from .models import CALLS, AttemptReport, CampaignInfo, CrmForm, JobReport, JobsRef, PhoneIn
from .reports import attempt_json, info_json, job_json

if TYPE_CHECKING:
    from api.context import AppContext

log = logging.getLogger("api.calls")

MAX_BODY = 32 * 1024 * 1024  # 10,000 numbers with full policies fit easily
IDEMPOTENCE_HEADER = "Idempotence-Key"
MAX_KEY = 256


async def json_body(request: Request, *, required: bool = True) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise RequestError(f"request body too large (limit {MAX_BODY} bytes)", 413)
    size, chunks = 0, []
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise RequestError(f"request body too large (limit {MAX_BODY} bytes)", 413)
            chunks.append(chunk)
    except ClientDisconnect:
        raise RequestError("request body incomplete") from None
    raw = b"".join(chunks)
    if not raw.strip():
        if required:
            raise RequestError("a JSON body is required")
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"invalid JSON: {exc}") from None


def idempotence_key(request: Request, *, query_too: bool = False) -> str | None:
    key = request.headers.get(IDEMPOTENCE_HEADER)
    if key is None and query_too:
        key = request.query_params.get(IDEMPOTENCE_HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_KEY:
        raise RequestError(
            f"{IDEMPOTENCE_HEADER} must be 1 to {MAX_KEY} characters", field=IDEMPOTENCE_HEADER
        )
    return key


def _campaign_part(token: str) -> str:
    """What a token's failures are counted against: the campaign it names (or the
    whole token, cut short, when it names none)."""
    parts = token.split(".")
    return parts[-2][:64] if len(parts) >= 3 else token[:64]


def routes(ctx: AppContext | None, manager: CampaignManager | None = None) -> list[BaseRoute]:
    """The Calls API routes. `manager` defaults to the dialer's (so adding numbers wakes
    it), else one on the switch's store."""
    if manager is None:
        if ctx is None:
            raise ValueError("routes() needs a context or a manager")
        manager = ctx.dialer.manager if ctx.dialer is not None else CampaignManager(ctx.store.db)
    m = manager
    limits = ctx.config.api_limits if ctx is not None else None

    def with_campaign(
        handler: Callable[[Request, Campaign], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            token: str = request.path_params["token"]
            guard = login_guard(request, limits)
            source, key = source_of(request), "calls:" + _campaign_part(token)
            try:
                await guard.admit(source, key)
            except Throttled as exc:
                return throttled_error(exc.retry_after)
            try:
                campaign = m.by_token(token)
            except CampaignError as exc:
                if exc.kind is ErrorKind.BAD_TOKEN:
                    guard.failed(source, key)
                return campaign_error(exc)
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return internal_error()
            try:
                return await handler(request, campaign)
            except CampaignError as exc:
                return campaign_error(exc)
            except RequestError as exc:
                return request_error(exc)
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return internal_error()

        return run

    async def add_phones(request: Request, campaign: Campaign) -> Response:
        key = idempotence_key(request)
        body = await json_body(request)
        return JSONResponse(await m.add_phones_async(campaign, body, key))

    async def crm_params(request: Request) -> dict[str, str]:
        params = dict(request.query_params)
        if request.method == "POST":
            kind = request.headers.get("content-type", "")
            if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                try:
                    form = await request.form()
                except HTTPException as exc:  # a form Starlette cannot parse
                    raise RequestError(f"invalid form body: {exc.detail}") from None
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params

    async def add_phone(request: Request, campaign: Campaign) -> Response:
        key = idempotence_key(request, query_too=True)
        job_id = m.add_phone(campaign, await crm_params(request), key)
        return PlainTextResponse(str(job_id))

    async def test_add_phone(request: Request, campaign: Campaign) -> Response:
        key = idempotence_key(request, query_too=True)
        job_id = m.add_phone(campaign, await crm_params(request), key, test=True)
        return PlainTextResponse(str(job_id))

    async def cancel(request: Request, campaign: Campaign) -> Response:
        return JSONResponse(m.cancel(campaign, await json_body(request)))

    async def job_report(request: Request, campaign: Campaign) -> Response:
        jobs = m.job_report(campaign, await json_body(request))
        return JSONResponse([job_json(job) for job in jobs])

    async def attempt_report(request: Request, campaign: Campaign) -> Response:
        attempts = m.attempt_report(campaign, await json_body(request))
        return JSONResponse([attempt_json(attempt, job) for attempt, job in attempts])

    async def info(request: Request, campaign: Campaign) -> Response:
        return JSONResponse(info_json(campaign, m.short_report(campaign)))

    async def status(request: Request, campaign: Campaign) -> Response:
        return JSONResponse(campaign.status.value)

    def control(
        action: Callable[[Campaign], CampaignStatus],
    ) -> Callable[[Request, Campaign], Awaitable[Response]]:
        async def run(request: Request, campaign: Campaign) -> Response:
            return JSONResponse(action(campaign).value)

        return run

    base = "/api/calls/campaign/{token}"
    crm = "/api/crmCalls/campaign/{token}"
    token = {"token": "the campaign's token (`8231.7056.1b131df1`): the only credential"}
    key_header = Param(
        IDEMPOTENCE_HEADER, "header", "the same key within 24 h returns the same job"
    )
    key_query = Param(IDEMPOTENCE_HEADER, "query", "as the header, for GET requests")

    def crm_query(phone_required: bool) -> tuple[Param, ...]:
        return (
            Param("phone", "query", "the number to call", required=phone_required),
            Param("gmtZone", "query", "the customer's time zone"),
            key_header,
            key_query,
        )

    job_id = Reply(
        Annotated[str, Field(pattern=r"^[0-9]+$")], "text/plain", "the new call job's id"
    )
    status_reply = Reply(CampaignStatus, description="the campaign's status now")
    jobs_example = {"phones": ["79123456789"], "ids": [1]}

    def op(summary: str, ok: Any, **kw: Any) -> Operation:
        if "body" in kw:  # json_body's limit
            kw.setdefault("errors", (413,))
        return Operation(summary, CALLS, ok=ok, path_params=token, **kw)

    def add_one(test: bool) -> dict[str, Operation]:
        what = "Add one number for a test call (no duplicate check)" if test else "Add one number"
        return {
            "GET": op(what, job_id, params=crm_query(True)),
            "POST": op(
                what + " (parameters in the query or a form)",
                job_id,
                params=crm_query(False),
                body=CrmForm,
                body_media_type="application/x-www-form-urlencoded",
                body_required=False,
                errors=(413,),
            ),
        }

    def control_op(what: str) -> dict[str, Operation]:
        return {"POST": op(what, status_reply)}

    cancel_op = op(
        "Cancel jobs added through the Calls API: the ids canceled",
        list[int],
        body=JobsRef,
        example=jobs_example,
    )
    job_report_op = op("A report per call job", list[JobReport], body=JobsRef, example=jobs_example)
    table: list[
        tuple[str, Callable[[Request, Campaign], Awaitable[Response]], dict[str, Operation]]
    ] = [
        (
            f"{base}/addPhones",
            add_phones,
            {
                "POST": op(
                    "Add numbers with their call policies: the new call job ids",
                    list[int],
                    body=list[PhoneIn],
                    params=(key_header,),
                    example=ADD_PHONES_EXAMPLE,
                    ok_example=[1],
                )
            },
        ),
        (f"{base}/addPhone", add_phone, add_one(False)),
        (f"{crm}/addPhone", add_phone, add_one(False)),
        (f"{crm}/test/addPhone", test_add_phone, add_one(True)),
        (f"{base}/callJob/cancel", cancel, {"POST": cancel_op}),
        (f"{base}/callJob/getReport", job_report, {"POST": job_report_op}),
        (f"{base}/getReport", job_report, {"POST": job_report_op}),
        (
            f"{base}/callAttempt/getReport",
            attempt_report,
            {
                "POST": op(
                    "A report per call attempt",
                    list[AttemptReport],
                    body=JobsRef,
                    example=jobs_example,
                )
            },
        ),
        (base, info, {"GET": op("The campaign and its short report", CampaignInfo)}),
        (f"{base}/status", status, {"GET": op("The campaign's status", status_reply)}),
        (f"{base}/control/start", control(m.start), control_op("Start the campaign")),
        (f"{base}/control/pause", control(m.pause), control_op("Pause the campaign")),
        (f"{base}/control/resume", control(m.resume), control_op("Resume a paused campaign")),
        (f"{base}/control/stop", control(m.stop), control_op("Stop the campaign")),
    ]
    return [route(path, with_campaign(handler), ops) for path, handler, ops in table]


# the spec's own example (calls-api-addPhones.txt)
ADD_PHONES_EXAMPLE = [
    {
        "phone": "79123456789",
        "payload": {"name": "Alex", "age": 34},
        "allowedTime": {
            "mon": [
                {"localTimeFrom": "10:00", "localTimeTo": "11:30"},
                {"localTimeFrom": "13:00", "localTimeTo": "14:30"},
            ],
            "default": [{"localTimeFrom": "10:00", "localTimeTo": "18:00"}],
        },
        "retryIntervalInMinutes": 120,
        "maxAttempts": 0,
        "gmtZone": "-05:00",
    }
]
