"""Request bodies of the CPaaS campaign manager (lists, DND lists, campaigns)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from softswitch.campaigns.builder import CampaignRequest
from softswitch.campaigns.csvimport import MAX_CSV_ROWS

from .models import AlsoAccepts, CallerId, FlowId, Text, VoiceBody, Whole, _Body

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
    repeat: Annotated[Whole, Field(ge=1, le=20)] | None = None
    repeat_count: Annotated[Whole, Field(ge=1, le=20)] | None = None
    max_retries: Annotated[Whole, Field(ge=0, le=20)] | None = None
    retry_attempts: Annotated[Whole, Field(ge=0, le=20)] | None = None  # max_retries' alias
    retry_time: Annotated[Whole, Field(ge=0, le=7 * 24 * 3600)] = 60  # seconds
    retry_on_statuses: str | list[str] = ""
    calls_per_minute: Annotated[Whole, Field(ge=1, le=6000)] = 10
    max_simultaneous_calls: Annotated[Whole, Field(ge=1, le=1000)] = 10
    flow_id: FlowId | None = None
    flow: list[Any] | None = None

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
        )
