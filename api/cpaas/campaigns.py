"""The CPaaS campaign manager (cpaas-api.txt, "Campaign Manager"): contact lists, DND
lists, campaigns, and the campaign CDR queries.

Decisions the spec leaves open:
- CSV imports are all-or-nothing: one bad row refuses the whole file, and the message
  names the bad lines (up to five), so a corrected file can be imported again without
  duplicating the good rows. A header row is recognised by a number column
  (`contact_number`, `number`, `phone`...); without one the columns are name, number,
  field1, field2... (a single column is the number).
- A campaign queues its list's contacts when it is created; contacts added to the list
  later are not part of it. DND lists are checked when each number is about to be
  dialed, so a number added to the DND list later is still never called.
- Type 1 takes `flow_id` (a stored flow) or `flow` (steps); without either, the campaign
  plays the announcement and records the key pressed as the call's result.
- `retry_time` is in seconds, `max_retries` (alias `retry_attempts`) counts the attempts
  after the first, `retry_on_statuses` lists dial statuses (default NOANSWER, BUSY,
  CHANUNAVAIL, CONGESTION).
- Each campaign has a Calls API token (`token` in create and details) for the JAICP API.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import (
    CPAAS_STATUS_CODES,
    DEFAULT_RETRY_ON,
    Campaign,
    new_campaign_id,
    new_token,
)
from softswitch.campaigns.phones import CampaignError, normalize_phone
from softswitch.campaigns.placer import campaign_flow
from softswitch.campaigns.zones import ZoneError, parse_zone
from softswitch.flowmodel import FlowError
from softswitch.store.cdrs import CdrStore
from softswitch.store.flows import FlowStore
from softswitch.store.lists import KIND_CONTACTS, KIND_DND, Contact, DuplicateListName

from .auth import account_of
from .body import parse_json, read_body, validate
from .cdrs import found, statistics_json
from .files import safe_name
from .models import CallerId, FlowId, Text, VoiceBody, Whole, _Body
from .responses import ApiError, endpoint, ok
from .voice import voice_fields

if TYPE_CHECKING:
    from api.context import AppContext

MAX_LIST_BODY = 16 * 1024 * 1024
MAX_CSV_ROWS = 200_000
MAX_FIELDS = 50
DIAL_STATUSES = ("NOANSWER", "BUSY", "CHANUNAVAIL", "CONGESTION", "CANCEL")
_STATUS_ALIASES = {"NOANSER": "NOANSWER", "NO ANSWER": "NOANSWER", "NO_ANSWER": "NOANSWER"}
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
_LIST_ID = re.compile(r"LS[0-9a-f]{10}\Z")
_DND_ID = re.compile(r"DN[0-9a-f]{10}\Z")
_CAMPAIGN_ID = re.compile(r"CM[0-9a-f]{10}\Z")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]?(\d{2}:\d{2}(?::\d{2})?)\Z")
_NUMBER_HEADERS = ("contact_number", "number", "phone", "phone_number", "mobile")
_NAME_HEADERS = ("contact_name", "name")
_DND_NUMBER_HEADERS = ("dnd_contact_number",) + _NUMBER_HEADERS
_DND_NAME_HEADERS = ("dnd_contact_name",) + _NAME_HEADERS


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _id(regex: re.Pattern[str], what: str):
    def check(value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not regex.match(value):
                raise ValueError(f"{value!r} is not {what}")
        return value

    return BeforeValidator(check)


ListId = Annotated[str, _id(_LIST_ID, "a list_id (LS + 10 hex)")]
DndListId = Annotated[str, _id(_DND_ID, "a dnd_list_id (DN + 10 hex)")]
CampaignId = Annotated[str, _id(_CAMPAIGN_ID, "a campaign_id (CM + 10 hex)")]
Flag = Annotated[
    Literal["0", "1"], BeforeValidator(lambda v: str(v).strip() if isinstance(v, (str, int)) else v)
]


class ListCreate(_Body):
    list_name: Text


class DndListCreate(_Body):
    dnd_list_name: Text


class ContactIn(_Body):
    contact_name: Annotated[str, Field(max_length=200)] = ""
    contact_number: str
    contact_fields: dict[
        str,
        Annotated[
            str,
            BeforeValidator(
                lambda v: str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
            ),
        ],
    ] = Field(default_factory=dict, max_length=MAX_FIELDS)


class ContactsAdd(_Body):
    list_id: ListId
    contacts: list[ContactIn] = Field(min_length=1, max_length=MAX_CSV_ROWS)


class DndContactIn(_Body):
    dnd_contact_name: Annotated[str, Field(max_length=200)] = ""
    dnd_contact_number: str


class DndContactsAdd(_Body):
    dnd_list_id: DndListId
    dnd_contacts: list[DndContactIn] = Field(min_length=1, max_length=MAX_CSV_ROWS)


class CsvImport(_Body):
    list_id: ListId
    csv_name: Text


class DndCsvImport(_Body):
    dnd_list_id: DndListId
    dnd_csv_name: Text


class CampaignRef(_Body):
    campaign_id: CampaignId


class CampaignCreate(VoiceBody):
    list_id: ListId | None = None
    dnd_list_id: DndListId | None = None
    campaign_name: Text
    campaign_type: Flag
    campaign_caller_id: CallerId
    dynamic_announcement: Flag = "1"
    recorded_filename: Annotated[str, BeforeValidator(_strip)] = ""
    announcement_text: Annotated[str, Field(max_length=3000)] = ""
    campaign_start_date: Text
    campaign_end_date: Text
    time_zone: Text = "UTC"
    repeat: Whole(1, 20) | None = None
    repeat_count: Whole(1, 20) | None = None
    max_retries: Whole(0, 20) | None = None
    retry_attempts: Whole(0, 20) | None = None
    retry_time: Whole(0, 7 * 24 * 3600) = 60
    retry_on_statuses: str | list[str] = ""
    calls_per_minute: Whole(1, 6000) = 10
    max_simultaneous_calls: Whole(1, 1000) = 10
    flow_id: FlowId | None = None
    flow: list[Any] | None = None


def http_date(ts: float | None) -> str:
    return formatdate(ts or 0, usegmt=True)


def wall_clock_date(ts: float | None, zone_name: str) -> str:
    """The campaign's own wall-clock time, in the spec's date format and "GMT" label.

    The spec's get_campaign_details example reads back the 09:00 and 20:00 given at
    creation in Asia/Kolkata as "09:00:00 GMT" and "20:00:00 GMT": the dates a client
    sent come back unchanged, not converted to UTC.
    """
    if ts is None:
        return http_date(None)
    try:
        zone = parse_zone(zone_name)
    except ZoneError:
        return http_date(ts)
    wall = datetime.fromtimestamp(ts, zone).replace(tzinfo=UTC)
    return http_date(wall.timestamp())


def local_timestamp(text: str, zone: Any, field: str) -> float:
    match = _DATE.match(text.strip())
    if match is None:
        raise ApiError(f"{field}: {text!r} must look like YYYY-mm-dd hh:mm:ss")
    date, clock = match.groups()
    if clock.count(":") == 1:
        clock += ":00"
    try:
        moment = datetime.fromisoformat(f"{date}T{clock}")
    except ValueError:
        raise ApiError(f"{field}: {text!r} is not a valid date and time") from None
    return moment.replace(tzinfo=zone).timestamp()


def retry_statuses(value: str | list[str]) -> tuple[str, ...]:
    items = value if isinstance(value, list) else re.split(r"[,|;]", value)
    found: list[str] = []
    for item in items:
        name = " ".join(str(item).strip().upper().split())
        if not name:
            continue
        name = _STATUS_ALIASES.get(name, name)
        if name not in DIAL_STATUSES:
            raise ApiError(f"retry_on_statuses: {item!r} is not one of {', '.join(DIAL_STATUSES)}")
        if name not in found:
            found.append(name)
    return tuple(found) or DEFAULT_RETRY_ON


def number(value: str, where: str) -> str:
    try:
        return normalize_phone(value, where)
    except CampaignError as exc:
        raise ApiError(exc.message) from None


class CsvProblem(ApiError):
    pass


def read_csv(
    path: Path, number_headers: tuple[str, ...], name_headers: tuple[str, ...], with_fields: bool
) -> list[Contact]:
    """Contacts of an uploaded CSV file; all-or-nothing (see the module's docstring)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ApiError(f"{path.name}: no such file in the upload area", 404) from None
    except UnicodeDecodeError:
        raise ApiError(f"{path.name}: not UTF-8 text") from None
    rows = [
        (n, row)
        for n, row in enumerate(csv.reader(io.StringIO(text)), 1)
        if any(cell.strip() for cell in row)
    ]
    if not rows:
        raise ApiError(f"{path.name}: no contacts in the file")
    if len(rows) > MAX_CSV_ROWS + 1:
        raise ApiError(f"{path.name}: more than {MAX_CSV_ROWS} rows")
    header = [cell.strip().lower() for cell in rows[0][1]]
    number_col = next((header.index(h) for h in number_headers if h in header), None)
    if number_col is not None:
        name_col = next((header.index(h) for h in name_headers if h in header), None)
        names = [c.strip() for c in rows[0][1]]
        rows = rows[1:]
    else:
        width = len(rows[0][1])
        number_col, name_col = (0, None) if width == 1 else (1, 0)
        names = ["contact_name", "contact_number"] + [f"field{i}" for i in range(1, width - 1)]
    field_cols = (
        [i for i in range(len(names)) if i not in (number_col, name_col)] if with_fields else []
    )
    contacts: list[Contact] = []
    problems: list[str] = []
    for line, row in rows:
        cells = [c.strip() for c in row]
        if len(cells) <= number_col or not cells[number_col]:
            problems.append(f"line {line}: no number")
            continue
        try:
            digits = normalize_phone(cells[number_col], "number")
        except CampaignError:
            problems.append(f"line {line}: {cells[number_col]!r} is not a phone number")
            continue
        name = cells[name_col] if name_col is not None and name_col < len(cells) else ""
        fields = {names[i]: (cells[i] if i < len(cells) else "") for i in field_cols if names[i]}
        contacts.append(Contact(name, digits, fields))
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise CsvProblem(f"{path.name}: nothing imported; " + "; ".join(problems[:5]) + more)
    if not contacts:
        raise ApiError(f"{path.name}: no contacts in the file")
    return contacts


def routes(ctx: AppContext, manager: CampaignManager | None = None) -> list[BaseRoute]:
    if manager is None:
        manager = ctx.dialer.manager if ctx.dialer is not None else CampaignManager(ctx.store.db)
    m = manager
    uploads_root = Path(ctx.config.media.uploads_dir)
    cdrs = CdrStore(ctx.store.db)
    flows = FlowStore(ctx.store.db)

    async def body_of(request: Request, model: Any) -> Any:
        return validate(model, parse_json(await read_body(request, MAX_LIST_BODY)))

    def owned_campaign(account_id: str, campaign_id: str) -> Campaign:
        campaign = m.get(campaign_id, account_id)
        if campaign is None:
            raise ApiError("campaign not found", 404)
        return campaign

    def owned_list(account_id: str, list_id: str, kind: str) -> None:
        if m.lists.get(list_id, account_id, kind) is None:
            what = "dnd_list_id" if kind == KIND_DND else "list_id"
            raise ApiError(f"{what}: {list_id} not found", 404)

    def upload(account_id: str, name: str, field: str) -> Path:
        return uploads_root / account_id / safe_name(name, field)

    @endpoint
    async def create_list(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await body_of(request, ListCreate)
        try:
            made = m.lists.create(account.id, body.list_name.strip(), KIND_CONTACTS, m.clock.now())
        except DuplicateListName:
            raise ApiError("list_name: a list with this name already exists") from None
        return ok(list_id=made.id)

    @endpoint
    async def create_dnd_list(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await body_of(request, DndListCreate)
        try:
            made = m.lists.create(account.id, body.dnd_list_name.strip(), KIND_DND, m.clock.now())
        except DuplicateListName:
            raise ApiError("dnd_list_name: a DND list with this name already exists") from None
        return ok(dnd_list_id=made.id)

    @endpoint
    async def add_contacts(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await body_of(request, ContactsAdd)
        owned_list(account.id, body.list_id, KIND_CONTACTS)
        contacts = [
            Contact(
                c.contact_name.strip(),
                number(c.contact_number, f"contacts.{i}.contact_number"),
                dict(c.contact_fields),
            )
            for i, c in enumerate(body.contacts)
        ]
        count = m.lists.add(body.list_id, contacts)
        return ok(message=f"({count}) contacts imported successfully")

    @endpoint
    async def add_dnd_contacts(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await body_of(request, DndContactsAdd)
        owned_list(account.id, body.dnd_list_id, KIND_DND)
        contacts = [
            Contact(
                c.dnd_contact_name.strip(),
                number(c.dnd_contact_number, f"dnd_contacts.{i}.dnd_contact_number"),
            )
            for i, c in enumerate(body.dnd_contacts)
        ]
        count = m.lists.add(body.dnd_list_id, contacts)
        return ok(message=f"({count}) DND contacts imported successfully")

    @endpoint
    async def import_contacts(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await body_of(request, CsvImport)
        owned_list(account.id, body.list_id, KIND_CONTACTS)
        contacts = read_csv(
            upload(account.id, body.csv_name, "csv_name"),
            _NUMBER_HEADERS,
            _NAME_HEADERS,
            with_fields=True,
        )
        count = m.lists.add(body.list_id, contacts)
        return ok(message=f"({count}) contacts imported successfully")

    @endpoint
    async def import_dnd(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await body_of(request, DndCsvImport)
        owned_list(account.id, body.dnd_list_id, KIND_DND)
        contacts = read_csv(
            upload(account.id, body.dnd_csv_name, "dnd_csv_name"),
            _DND_NUMBER_HEADERS,
            _DND_NAME_HEADERS,
            with_fields=False,
        )
        count = m.lists.add(body.dnd_list_id, contacts)
        return ok(message=f"({count}) DND contacts imported successfully")

    @endpoint
    async def create_campaign(request: Request) -> Response:
        account = await account_of(request, ctx)
        body: CampaignCreate = await body_of(request, CampaignCreate)
        name = body.campaign_name.strip()
        if m.campaigns.name_taken(account.id, name):
            raise ApiError("campaign_name: a campaign with this name already exists")
        if body.list_id:
            owned_list(account.id, body.list_id, KIND_CONTACTS)
        if body.dnd_list_id:
            owned_list(account.id, body.dnd_list_id, KIND_DND)
        try:
            zone = parse_zone(body.time_zone.strip())
        except ZoneError as exc:
            raise ApiError(f"time_zone: {exc}") from None
        start = local_timestamp(body.campaign_start_date, zone, "campaign_start_date")
        end = local_timestamp(body.campaign_end_date, zone, "campaign_end_date")
        if end <= start:
            raise ApiError("campaign_end_date: must be after campaign_start_date")
        if end <= m.clock.now():
            raise ApiError("campaign_end_date: is in the past")
        voice = voice_fields(body)
        steps = None
        if body.campaign_type == "1" and body.flow_id:
            stored = flows.get(account.id, body.flow_id)
            if stored is None:
                raise ApiError(f"flow_id: {body.flow_id} not found", 404)
            steps = stored.steps
        elif body.campaign_type == "1" and body.flow is not None:
            steps = body.flow
        dynamic = body.dynamic_announcement == "1"
        if steps is None:
            if dynamic and not body.announcement_text.strip():
                raise ApiError("announcement_text: required when dynamic_announcement is 1")
            if not dynamic:
                if not body.recorded_filename:
                    raise ApiError("recorded_filename: required when dynamic_announcement is 0")
                if not upload(account.id, body.recorded_filename, "recorded_filename").is_file():
                    raise ApiError(
                        f"recorded_filename: {body.recorded_filename} is not in the upload area",
                        404,
                    )
        campaign_id = new_campaign_id()
        campaign = Campaign(
            id=campaign_id,
            account_id=account.id,
            name=name,
            token=new_token(account.id, campaign_id),
            campaign_type=int(body.campaign_type),
            caller_id=body.campaign_caller_id,
            list_id=body.list_id or "",
            dnd_list_id=body.dnd_list_id or "",
            start_at=start,
            end_at=end,
            time_zone=body.time_zone.strip(),
            max_retries=next(
                (v for v in (body.max_retries, body.retry_attempts) if v is not None), 0
            ),
            retry_time=float(body.retry_time),
            retry_on=retry_statuses(body.retry_on_statuses),
            calls_per_minute=float(body.calls_per_minute),
            max_simultaneous=body.max_simultaneous_calls,
            repeat=body.repeat or body.repeat_count or 1,
            dynamic_announcement=dynamic,
            announcement_text=body.announcement_text,
            recorded_filename=body.recorded_filename,
            voice=voice,
            flow=steps,
        )
        try:
            flow = campaign_flow(campaign)
        except FlowError as exc:
            raise ApiError(str(exc)) from None
        if campaign.list_id:
            check_variables(campaign.list_id, flow.fields())
        m.create(campaign)
        return ok(campaign_id=campaign.id, token=campaign.token)

    def check_variables(list_id: str, needed: set[str]) -> None:
        """Every contact must carry the fields the announcement or flow uses."""
        needed = needed - {"phone", "contact_name"}
        if not needed:
            return
        for contact in m.lists.contacts(list_id):
            missing = needed - set(contact.fields)
            if missing:
                raise ApiError(
                    f"announcement uses {{{sorted(missing)[0]}}} but contact "
                    f"{contact.number} has no such field"
                )

    @endpoint
    async def stop_campaign(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await body_of(request, CampaignRef)
        campaign = owned_campaign(account.id, body.campaign_id)
        m.stop(campaign)
        # the spec's message, leading space included
        return ok(message=" campaign stopped successfully")

    @endpoint
    async def details(request: Request) -> Response:
        account = await account_of(request, ctx)
        wanted = request.query_params.get("campaign_id", "").strip()
        campaigns = (
            [owned_campaign(account.id, wanted)] if wanted else m.campaigns.of_account(account.id)
        )
        if not campaigns:
            raise ApiError("campaign not found", 404)
        return ok(message="campaign found", result=[details_json(c) for c in campaigns])

    @endpoint
    async def cdr_by_campaign(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await body_of(request, CampaignRef)
        owned_campaign(account.id, body.campaign_id)
        return found(cdrs.by_campaign(account.id, body.campaign_id), campaign=True)

    @endpoint
    async def campaign_statistics(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await body_of(request, CampaignRef)
        owned_campaign(account.id, body.campaign_id)
        counts = cdrs.statistics(account.id, body.campaign_id)
        return ok(result=statistics_json(counts, CAMPAIGN_STATISTICS))

    return [
        Route("/api/create_campaign_list", create_list, methods=["POST"]),
        Route("/api/add_contact_to_list", add_contacts, methods=["POST"]),
        Route("/api/import_broadcast_contacts_csv", import_contacts, methods=["POST"]),
        Route("/api/create_campaign_dnd_list", create_dnd_list, methods=["POST"]),
        Route("/api/add_dnd_contact_to_list", add_dnd_contacts, methods=["POST"]),
        Route("/api/import_dnd_contacts_csv", import_dnd, methods=["POST"]),
        Route("/api/create_campaign", create_campaign, methods=["POST"]),
        Route("/stop_campaign", stop_campaign, methods=["POST"]),
        Route("/api/stop_campaign", stop_campaign, methods=["POST"]),
        Route("/api/get_campaign_details", details, methods=["GET"]),
        Route("/api/get_cdr_by_campaign_id", cdr_by_campaign, methods=["POST"]),
        Route("/api/get_campaign_cdr_statistics", campaign_statistics, methods=["POST"]),
    ]


def details_json(campaign: Campaign) -> dict[str, Any]:
    return {
        "calls_per_minute": _num(campaign.calls_per_minute),
        "campaign_caller_id": campaign.caller_id,
        "campaign_end_date": wall_clock_date(campaign.end_at, campaign.time_zone),
        "campaign_id": campaign.id,
        "campaign_name": campaign.name,
        "campaign_start_date": wall_clock_date(campaign.start_at, campaign.time_zone),
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


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


campaign_routes = routes

__all__ = ["campaign_routes", "routes"]
