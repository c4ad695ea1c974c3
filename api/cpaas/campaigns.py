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
from starlette.routing import BaseRoute, Route

from api.httpdate import http_date
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
from .responses import ApiError, endpoint, ok
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
    return [
        Route("/api/create_campaign_list", endpoint(e.create_list), methods=["POST"]),
        Route("/api/add_contact_to_list", endpoint(e.add_contacts), methods=["POST"]),
        Route("/api/import_broadcast_contacts_csv", endpoint(e.import_contacts), methods=["POST"]),
        Route("/api/create_campaign_dnd_list", endpoint(e.create_dnd_list), methods=["POST"]),
        Route("/api/add_dnd_contact_to_list", endpoint(e.add_dnd_contacts), methods=["POST"]),
        Route("/api/import_dnd_contacts_csv", endpoint(e.import_dnd), methods=["POST"]),
        Route("/api/create_campaign", endpoint(e.create_campaign), methods=["POST"]),
        Route("/stop_campaign", endpoint(e.stop_campaign), methods=["POST"]),
        Route("/api/stop_campaign", endpoint(e.stop_campaign), methods=["POST"]),
        Route("/api/get_campaign_details", endpoint(e.details), methods=["GET"]),
        Route("/api/get_cdr_by_campaign_id", endpoint(e.cdr_by_campaign), methods=["POST"]),
        Route(
            "/api/get_campaign_cdr_statistics", endpoint(e.campaign_statistics), methods=["POST"]
        ),
    ]


def details_json(campaign: Campaign) -> dict[str, Any]:
    return {
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
