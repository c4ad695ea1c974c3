"""The CPaaS campaign manager (cpaas-api.txt, "Campaign Manager"): contact lists, DND
lists, campaigns, and the campaign CDR queries.

Decisions the spec leaves open (the switch's modules say the rest: CSV imports in
softswitch.campaigns.csvimport, campaign construction in softswitch.campaigns.builder):
- A campaign queues its list's contacts when it is created; contacts added to the list
  later are not part of it. DND lists are checked when each number is about to be
  dialed, so a number added to the DND list later is still never called.
- `retry_attempts` is an alias of `max_retries`, `repeat_count` of `repeat`.
- Each campaign has a Calls API token (`token` in create and details) for the JAICP API.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.httpdate import http_date
from api.openapi.operation import DocumentedRoute, Operation, Param, route
from softswitch.campaigns.builder import CampaignBuilder
from softswitch.campaigns.csvimport import CONTACT_COLUMNS, DND_COLUMNS, read_csv
from softswitch.campaigns.dates import wall_clock
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import CPAAS_STATUS_CODES, Campaign
from softswitch.campaigns.phones import normalize_phone
from softswitch.store.cdrs import CdrStore
from softswitch.store.flows import FlowStore
from softswitch.store.lists import Contact, DuplicateListName, ListKind

from .auth import account_of
from .body import parse_json, read_body, validate
from .campaign_models import (
    CampaignCreate,
    CampaignRef,
    ContactsAdd,
    CsvImport,
    DndContactsAdd,
    DndCsvImport,
    DndListCreate,
    ListCreate,
)
from .cdrs import found, statistics_json
from .files import safe_name
from .replies import (
    CPAAS,
    CampaignCdr,
    CampaignCdrStatisticsReply,
    CampaignCreated,
    CampaignDetails,
    DndListId,
    Done,
    Envelope,
    ListId,
    Listing,
)
from .responses import ApiError, Handler, endpoint, ok
from .voice import voice_fields

if TYPE_CHECKING:
    from api.context import AppContext

MAX_LIST_BODY = 16 * 1024 * 1024
CAMPAIGN_STATISTICS = (
    "answer_calls",
    "busy_calls",
    "cancel_calls",
    "chanunavail_calls",
    "congestion_calls",
    "dnd_calls",
    "noanswer_calls",
    "total_calls",
)

M = TypeVar("M", bound=BaseModel)


async def body_of(request: Request, model: type[M]) -> M:
    return validate(model, parse_json(await read_body(request, MAX_LIST_BODY)))


class CampaignEndpoints:
    """One handler per endpoint; the manager does the work, these parse and shape."""

    def __init__(self, ctx: AppContext, manager: CampaignManager) -> None:
        self.ctx = ctx
        self.manager = manager
        self.builder = CampaignBuilder(manager, FlowStore(ctx.store.db))
        self.cdrs = CdrStore(ctx.store.db)
        self.uploads = Path(ctx.config.media.uploads_dir)

    def upload(self, account_id: str, name: str, field: str) -> Path:
        """A file of the account's upload area (ApiError for a name that cannot be one)."""
        return self.uploads / account_id / safe_name(name, field)

    async def create_list(self, request: Request) -> Response:
        account = await account_of(request, self.ctx)
        body = await body_of(request, ListCreate)
        m = self.manager
        try:
            made = m.lists.create(
                account.id, body.list_name.strip(), ListKind.CONTACTS, m.clock.now()
            )
        except DuplicateListName:
            raise ApiError("list_name: a list with this name already exists") from None
        return ok(list_id=made.id)

    async def create_dnd_list(self, request: Request) -> Response:
        account = await account_of(request, self.ctx)
        body = await body_of(request, DndListCreate)
        m = self.manager
        try:
            made = m.lists.create(
                account.id, body.dnd_list_name.strip(), ListKind.DND, m.clock.now()
            )
        except DuplicateListName:
            raise ApiError("dnd_list_name: a DND list with this name already exists") from None
        return ok(dnd_list_id=made.id)

    async def add_contacts(self, request: Request) -> Response:
        account = await account_of(request, self.ctx)
        body = await body_of(request, ContactsAdd)
        self.manager.owned_list(body.list_id, account.id, ListKind.CONTACTS)
        contacts = [
            Contact(
                c.contact_name.strip(),
                normalize_phone(c.contact_number, f"contacts.{i}.contact_number"),
                dict(c.contact_fields),
            )
            for i, c in enumerate(body.contacts)
        ]
        count = self.manager.lists.add(body.list_id, contacts)
        return ok(message=f"({count}) contacts imported successfully")

    async def add_dnd_contacts(self, request: Request) -> Response:
        account = await account_of(request, self.ctx)
        body = await body_of(request, DndContactsAdd)
        self.manager.owned_list(body.dnd_list_id, account.id, ListKind.DND)
        contacts = [
            Contact(
                c.dnd_contact_name.strip(),
                normalize_phone(c.dnd_contact_number, f"dnd_contacts.{i}.dnd_contact_number"),
            )
            for i, c in enumerate(body.dnd_contacts)
        ]
        count = self.manager.lists.add(body.dnd_list_id, contacts)
        return ok(message=f"({count}) DND contacts imported successfully")

    async def import_contacts(self, request: Request) -> Response:
        account = await account_of(request, self.ctx)
        body = await body_of(request, CsvImport)
        self.manager.owned_list(body.list_id, account.id, ListKind.CONTACTS)
        path = self.upload(account.id, body.csv_name, "csv_name")
        count = self.manager.lists.add(body.list_id, read_csv(path, CONTACT_COLUMNS))
        return ok(message=f"({count}) contacts imported successfully")

    async def import_dnd(self, request: Request) -> Response:
        account = await account_of(request, self.ctx)
        body = await body_of(request, DndCsvImport)
        self.manager.owned_list(body.dnd_list_id, account.id, ListKind.DND)
        path = self.upload(account.id, body.dnd_csv_name, "dnd_csv_name")
        count = self.manager.lists.add(body.dnd_list_id, read_csv(path, DND_COLUMNS))
        return ok(message=f"({count}) DND contacts imported successfully")

    async def create_campaign(self, request: Request) -> Response:
        account = await account_of(request, self.ctx)
        body = await body_of(request, CampaignCreate)
        campaign = self.builder.build(
            body.request(account.id),
            voice=lambda: voice_fields(body),
            upload=lambda name, field: self.upload(account.id, name, field),
        )
        self.manager.create(campaign)
        return ok(campaign_id=campaign.id, token=campaign.token)

    async def stop_campaign(self, request: Request) -> Response:
        account = await account_of(request, self.ctx)
        body = await body_of(request, CampaignRef)
        self.manager.stop(self.manager.owned(body.campaign_id, account.id))
        # the spec's message, leading space included
        return ok(message=" campaign stopped successfully")

    async def details(self, request: Request) -> Response:
        account = await account_of(request, self.ctx)
        wanted = request.query_params.get("campaign_id", "").strip()
        m = self.manager
        campaigns = [m.owned(wanted, account.id)] if wanted else m.campaigns.of_account(account.id)
        if not campaigns:
            raise ApiError("campaign not found", 404)
        return ok(message="campaign found", result=[details_json(c) for c in campaigns])

    async def cdr_by_campaign(self, request: Request) -> Response:
        account = await account_of(request, self.ctx)
        body = await body_of(request, CampaignRef)
        self.manager.owned(body.campaign_id, account.id)
        return found(self.cdrs.by_campaign(account.id, body.campaign_id), campaign=True)

    async def campaign_statistics(self, request: Request) -> Response:
        account = await account_of(request, self.ctx)
        body = await body_of(request, CampaignRef)
        self.manager.owned(body.campaign_id, account.id)
        counts = self.cdrs.statistics(account.id, body.campaign_id)
        return ok(result=statistics_json(counts, CAMPAIGN_STATISTICS))


def routes(ctx: AppContext, manager: CampaignManager | None = None) -> list[BaseRoute]:
    if manager is None:
        manager = ctx.dialer.manager if ctx.dialer is not None else CampaignManager(ctx.store.db)
    e = CampaignEndpoints(ctx, manager)
    imported = {"response": {"message": "(2) contacts imported successfully", "success": "true"}}

    def post(path: str, handler: Handler, op: Operation) -> DocumentedRoute:
        return route(path, endpoint(handler), {"POST": op})

    stop = Operation(
        "Stop a campaign",
        CPAAS,
        body=CampaignRef,
        ok=Envelope[Done],
        errors=(404,),
        example={"campaign_id": "CM7b1b0f4c2f"},
        ok_example={"response": {"message": " campaign stopped successfully", "success": "true"}},
    )
    return [
        post(
            "/api/create_campaign_list",
            e.create_list,
            Operation(
                "Create a contact list",
                CPAAS,
                body=ListCreate,
                ok=Envelope[ListId],
                example={"list_name": "my_campaign_list"},
                ok_example={"response": {"list_id": "LSdb6a12e1f1", "success": "true"}},
            ),
        ),
        post(
            "/api/add_contact_to_list",
            e.add_contacts,
            Operation(
                "Add contacts to a list",
                CPAAS,
                body=ContactsAdd,
                ok=Envelope[Done],
                errors=(404,),
                example=CONTACTS_EXAMPLE,
                ok_example=imported,
            ),
        ),
        post(
            "/api/import_broadcast_contacts_csv",
            e.import_contacts,
            Operation(
                "Import contacts from an uploaded CSV file",
                CPAAS,
                body=CsvImport,
                ok=Envelope[Done],
                errors=(404,),
                example={
                    "list_id": "LS608c393614",
                    "csv_name": "contacts_dynamic_announcement.csv",
                },
                ok_example=imported,
            ),
        ),
        post(
            "/api/create_campaign_dnd_list",
            e.create_dnd_list,
            Operation(
                "Create a DND list",
                CPAAS,
                body=DndListCreate,
                ok=Envelope[DndListId],
                example={"dnd_list_name": "my_first_DND_list"},
                ok_example={"response": {"dnd_list_id": "DNda1b361461", "success": "true"}},
            ),
        ),
        post(
            "/api/add_dnd_contact_to_list",
            e.add_dnd_contacts,
            Operation(
                "Add numbers to a DND list",
                CPAAS,
                body=DndContactsAdd,
                ok=Envelope[Done],
                errors=(404,),
                example={
                    "dnd_list_id": "DN95716be314",
                    "dnd_contacts": [
                        {"dnd_contact_name": "ankit", "dnd_contact_number": "91997927XXXX"},
                        {"dnd_contact_name": "abc", "dnd_contact_number": "91800068XXXX"},
                    ],
                },
                ok_example={
                    "response": {
                        "message": "(2) DND contacts imported successfully",
                        "success": "true",
                    }
                },
            ),
        ),
        post(
            "/api/import_dnd_contacts_csv",
            e.import_dnd,
            Operation(
                "Import DND numbers from an uploaded CSV file",
                CPAAS,
                body=DndCsvImport,
                ok=Envelope[Done],
                errors=(404,),
            ),
        ),
        post(
            "/api/create_campaign",
            e.create_campaign,
            Operation(
                "Create a campaign (type 0: announcement, 1: IVR flow)",
                CPAAS,
                body=CampaignCreate,
                ok=Envelope[CampaignCreated],
                errors=(404,),
                example=CAMPAIGN_EXAMPLE,
            ),
        ),
        post("/stop_campaign", e.stop_campaign, stop),
        post("/api/stop_campaign", e.stop_campaign, stop),
        route(
            "/api/get_campaign_details",
            endpoint(e.details),
            {
                "GET": Operation(
                    "The account's campaigns, or one",
                    CPAAS,
                    ok=Envelope[Listing[CampaignDetails]],
                    errors=(404,),
                    params=(Param("campaign_id", "query", "only this campaign"),),
                )
            },
        ),
        post(
            "/api/get_cdr_by_campaign_id",
            e.cdr_by_campaign,
            Operation(
                "The CDRs of a campaign's calls",
                CPAAS,
                body=CampaignRef,
                ok=Envelope[Listing[CampaignCdr]],
                errors=(404,),
                example={"campaign_id": "CM39139118b8"},
            ),
        ),
        post(
            "/api/get_campaign_cdr_statistics",
            e.campaign_statistics,
            Operation(
                "A campaign's call counts by outcome",
                CPAAS,
                body=CampaignRef,
                ok=Envelope[CampaignCdrStatisticsReply],
                errors=(404,),
                example={"campaign_id": "CM7b1b0f4c2f"},
            ),
        ),
    ]


# the specs' own examples (cpaas-api.txt)
CONTACTS_EXAMPLE = {
    "list_id": "LSaa8f9db7e6",
    "contacts": [
        {
            "contact_name": "ankit",
            "contact_number": "91997927XXXX",
            "contact_fields": {"field1": "Ankit", "field2": "Jayswal", "field3": "500"},
        },
        {
            "contact_name": "abc",
            "contact_number": "91800068XXXX",
            "contact_fields": {"field1": "abc", "field2": "xyz", "field3": "100"},
        },
    ],
}
CAMPAIGN_EXAMPLE = {
    "list_id": "LS608c393614",
    "dnd_list_id": "DNd2b09f8f80",
    "campaign_name": "test_broadcast_campaign_test_volume",
    "campaign_type": "0",
    "campaign_caller_id": "15168148111",
    "dynamic_announcement": "1",
    "recorded_filename": "",
    "announcement_text": "Dear, {field1} , {field2}, Your due balance is,, {field3},, INR only",
    "campaign_start_date": "2023-09-25 14:05:00",
    "campaign_end_date": "2023-09-26 20:00:00",
    "time_zone": "Asia/Kolkata",
    "repeat": "2",
    "max_retries": "1",
    "retry_time": "60",
    "calls_per_minute": "10",
    "voice": "Matthew",
    "volume": "soft",
    "rate": "slow",
    "pitch": "medium",
    "language_code": "en-US",
    "tts_engine_type": "standard",
}


def details_json(campaign: Campaign) -> dict[str, Any]:
    return {
        "amd": campaign.amd.value,
        "calls_per_minute": _num(campaign.calls_per_minute),
        "campaign_caller_id": campaign.caller_id,
        "campaign_end_date": _wall_clock_date(campaign.end_at, campaign.time_zone),
        "campaign_id": campaign.id,
        "campaign_name": campaign.name,
        "campaign_start_date": _wall_clock_date(campaign.start_at, campaign.time_zone),
        "campaign_status": CPAAS_STATUS_CODES[campaign.status],
        "campaign_type": str(campaign.campaign_type),
        "dnd_list_id": campaign.dnd_list_id,
        "list_id": campaign.list_id,
        "max_retries": str(campaign.max_retries),
        "repeat_announcement_count": str(campaign.repeat),
        "retry_time": _num(campaign.retry_time),
        "time_zone": campaign.time_zone,
        "token": campaign.token,
    }


def _wall_clock_date(ts: float | None, zone_name: str) -> str:
    # the campaign's own wall clock labelled GMT, as the spec's example reads it back
    return http_date(None if ts is None else wall_clock(ts, zone_name))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
