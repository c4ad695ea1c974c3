"""Request bodies of the CPaaS campaign manager (lists, DND lists, campaigns)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from softswitch.answering import AmdMode
from softswitch.campaigns.builder import CampaignRequest
from softswitch.campaigns.csvimport import MAX_CSV_ROWS

from .models import AlsoAccepts, Amd, CallerId, FlowId, Text, VoiceBody, Whole, _Body

MAX_FIELDS = 50
_LIST_ID = re.compile(r"LS[0-9a-f]{10}\Z")
_DND_ID = re.compile(r"DN[0-9a-f]{10}\Z")
_CAMPAIGN_ID = re.compile(r"CM[0-9a-f]{10}\Z")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _id(regex: re.Pattern[str], what: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not regex.match(value):
                raise ValueError(f"{value!r} is not {what}")
        return value

    return BeforeValidator(check)


def _flag(value: Any) -> Any:
    return str(value).strip() if isinstance(value, (str, int)) else value


def _field_text(value: Any) -> Any:
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


ListId = Annotated[str, _id(_LIST_ID, "a list_id (LS + 10 hex)")]
DndListId = Annotated[str, _id(_DND_ID, "a dnd_list_id (DN + 10 hex)")]
CampaignId = Annotated[str, _id(_CAMPAIGN_ID, "a campaign_id (CM + 10 hex)")]
Flag = Annotated[Literal["0", "1"], BeforeValidator(_flag), AlsoAccepts(({"enum": [0, 1]},))]


class ListCreate(_Body):
    list_name: Text


class DndListCreate(_Body):
    dnd_list_name: Text


class ContactIn(_Body):
    contact_name: Annotated[str, Field(max_length=200)] = ""
    contact_number: str
    contact_fields: dict[
        str, Annotated[str, BeforeValidator(_field_text), AlsoAccepts(({"type": "number"},))]
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
    """A campaign over a contact list (its contacts are queued now; a DND list is checked
    at each dial). Type 0 says ``announcement_text`` (its {fields} from each contact's
    contact_fields) or plays ``recorded_filename`` (an upload); type 1 runs a call flow
    (``flow_id`` or an inline ``flow``). The reply's ``token`` is the campaign's Calls API
    token."""

    list_id: ListId | None = None
    dnd_list_id: DndListId | None = None
    campaign_name: Annotated[Text, Field(description="unique within the account")]
    campaign_type: Annotated[Flag, Field(description="0 announcement only, 1 IVR (call flow)")]
    campaign_caller_id: CallerId
    dynamic_announcement: Annotated[
        Flag, Field(description="1: say announcement_text, 0: play recorded_filename")
    ] = "1"
    recorded_filename: Annotated[str, BeforeValidator(_strip)] = ""
    announcement_text: Annotated[str, Field(max_length=3000)] = ""
    campaign_start_date: Annotated[Text, Field(examples=["2023-09-25 14:05:00"])]
    campaign_end_date: Annotated[Text, Field(examples=["2023-09-26 20:00:00"])]
    time_zone: Annotated[Text, Field(description="IANA name of the dates' zone")] = "UTC"
    repeat: (
        Annotated[Whole, Field(ge=1, le=20, description="times the announcement is said")] | None
    ) = None
    repeat_count: Annotated[Whole, Field(ge=1, le=20, description="repeat's alias")] | None = None
    max_retries: Annotated[Whole, Field(ge=0, le=20)] | None = None
    retry_attempts: (
        Annotated[Whole, Field(ge=0, le=20, description="max_retries' alias")] | None
    ) = None
    retry_time: Annotated[Whole, Field(ge=0, le=7 * 24 * 3600, description="seconds")] = 60
    retry_on_statuses: Annotated[
        str | list[str],
        Field(
            description="dial statuses to retry, e.g. NOANSWER, BUSY; MACHINE retries an "
            "answered call that amd found a machine on"
        ),
    ] = ""
    calls_per_minute: Annotated[Whole, Field(ge=1, le=6000)] = 10
    max_simultaneous_calls: Annotated[Whole, Field(ge=1, le=1000)] = 10
    flow_id: FlowId | None = None
    flow: list[Any] | None = None
    amd: Amd = "off"

    def request(self, account_id: str) -> CampaignRequest:
        """The campaign asked for, in the switch's terms (the voice is checked apart)."""
        return CampaignRequest(
            account_id=account_id,
            name=self.campaign_name,
            campaign_type=int(self.campaign_type),
            caller_id=self.campaign_caller_id,
            start_date=self.campaign_start_date,
            end_date=self.campaign_end_date,
            time_zone=self.time_zone,
            list_id=self.list_id or "",
            dnd_list_id=self.dnd_list_id or "",
            max_retries=next(
                (v for v in (self.max_retries, self.retry_attempts) if v is not None), 0
            ),
            retry_time=float(self.retry_time),
            retry_on=self.retry_on_statuses,
            calls_per_minute=float(self.calls_per_minute),
            max_simultaneous=self.max_simultaneous_calls,
            repeat=self.repeat or self.repeat_count or 1,
            dynamic_announcement=self.dynamic_announcement == "1",
            announcement_text=self.announcement_text,
            recorded_filename=self.recorded_filename,
            flow_id=self.flow_id,
            flow=self.flow,
            amd=AmdMode(self.amd),
        )
