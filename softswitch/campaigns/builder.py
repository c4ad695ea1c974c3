"""A new campaign from a client's request: every check the campaign manager makes before
it stores one, in the order the CPaaS API reports them (the first fault wins).

Decisions the spec leaves open:
- Type 1 takes `flow_id` (a stored flow) or `flow` (steps); without either, the campaign
  plays the announcement and records the key pressed as the call's result.
- `retry_time` is in seconds, `max_retries` counts the attempts after the first,
  `retry_on` lists dial statuses (default NOANSWER, BUSY, CHANUNAVAIL, CONGESTION), and
  MACHINE: an answered call that answering-machine detection (`amd`) found a machine on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from softswitch.answering import AmdMode
from softswitch.flowmodel import FlowError
from softswitch.store.flows import FlowStore
from softswitch.store.lists import ListKind

from .dates import local_timestamp
from .errors import CampaignError, ErrorKind
from .manager import CampaignManager
from .model import DEFAULT_RETRY_ON, Campaign, RetryStatus, new_campaign_id, new_token
from .placer import campaign_flow
from .zones import ZoneError, parse_zone

_STATUS_ALIASES = {"NOANSER": "NOANSWER", "NO ANSWER": "NOANSWER", "NO_ANSWER": "NOANSWER"}
_RETRY_STATUSES = frozenset(RetryStatus)
# the flow variables every campaign call has, whatever the contact's fields
_BUILTIN_VARIABLES = frozenset({"phone", "contact_name"})


@dataclass(slots=True)
class CampaignRequest:
    """What a client asked for, its types already checked by the API."""

    account_id: str
    name: str
    campaign_type: int  # 0 = announcement, 1 = connect to a flow
    caller_id: str
    start_date: str  # wall clock in time_zone, as the client wrote it
    end_date: str
    time_zone: str
    list_id: str = ""
    dnd_list_id: str = ""
    max_retries: int = 0
    retry_time: float = 60.0
    retry_on: str | Sequence[str] = ""  # "NOANSWER,BUSY" or a list; empty = the default
    calls_per_minute: float = 10.0
    max_simultaneous: int = 10
    repeat: int = 1
    dynamic_announcement: bool = True
    announcement_text: str = ""
    recorded_filename: str = ""
    flow_id: str | None = None
    flow: list[Any] | None = None
    amd: AmdMode = AmdMode.OFF


# The API's own checks, run at their place in the order: the voice parameters (after the
# dates) and the resolution of an uploaded file name into the account's upload area.
VoiceCheck = Callable[[], dict[str, str]]
UploadPath = Callable[[str, str], Path]


class CampaignBuilder:
    def __init__(self, manager: CampaignManager, flows: FlowStore) -> None:
        self.manager = manager
        self.flows = flows

    def build(self, request: CampaignRequest, voice: VoiceCheck, upload: UploadPath) -> Campaign:
        """The campaign, checked but not stored (CampaignManager.create stores it)."""
        m = self.manager
        account_id = request.account_id
        name = request.name.strip()
        if m.campaigns.name_taken(account_id, name):
            raise CampaignError(
                "campaign_name: a campaign with this name already exists", field="campaign_name"
            )
        if request.list_id:
            m.owned_list(request.list_id, account_id, ListKind.CONTACTS)
        if request.dnd_list_id:
            m.owned_list(request.dnd_list_id, account_id, ListKind.DND)
        time_zone = request.time_zone.strip()
        try:
            zone = parse_zone(time_zone)
        except ZoneError as exc:
            raise CampaignError(f"time_zone: {exc}", field="time_zone") from None
        start = local_timestamp(request.start_date, zone, "campaign_start_date")
        end = local_timestamp(request.end_date, zone, "campaign_end_date")
        if end <= start:
            raise CampaignError(
                "campaign_end_date: must be after campaign_start_date", field="campaign_end_date"
            )
        if end <= m.clock.now():
            raise CampaignError("campaign_end_date: is in the past", field="campaign_end_date")
        voice_params = voice()
        steps = self._steps(request)
        if steps is None:
            self._check_announcement(request, upload)
        campaign_id = new_campaign_id()
        campaign = Campaign(
            id=campaign_id,
            account_id=account_id,
            name=name,
            token=new_token(account_id, campaign_id),
            campaign_type=request.campaign_type,
            caller_id=request.caller_id,
            list_id=request.list_id,
            dnd_list_id=request.dnd_list_id,
            start_at=start,
            end_at=end,
            time_zone=time_zone,
            max_retries=request.max_retries,
            retry_time=request.retry_time,
            retry_on=retry_statuses(request.retry_on),
            calls_per_minute=request.calls_per_minute,
            max_simultaneous=request.max_simultaneous,
            repeat=request.repeat,
            dynamic_announcement=request.dynamic_announcement,
            announcement_text=request.announcement_text,
            recorded_filename=request.recorded_filename,
            voice=voice_params,
            flow=steps,
            amd=request.amd,
        )
        try:
            flow = campaign_flow(campaign)
        except FlowError as exc:
            raise CampaignError(str(exc)) from None
        if campaign.list_id:
            self._check_variables(campaign.list_id, flow.fields())
        return campaign

    def _steps(self, request: CampaignRequest) -> list[Any] | None:
        """A type 1 campaign's flow steps: the stored flow_id's, else the flow given."""
        if request.campaign_type != 1:
            return None
        if request.flow_id:
            stored = self.flows.get(request.account_id, request.flow_id)
            if stored is None:
                raise CampaignError(
                    f"flow_id: {request.flow_id} not found", ErrorKind.NOT_FOUND, field="flow_id"
                )
            return stored.steps
        return request.flow

    def _check_announcement(self, request: CampaignRequest, upload: UploadPath) -> None:
        if request.dynamic_announcement:
            if not request.announcement_text.strip():
                raise CampaignError(
                    "announcement_text: required when dynamic_announcement is 1",
                    field="announcement_text",
                )
            return
        if not request.recorded_filename:
            raise CampaignError(
                "recorded_filename: required when dynamic_announcement is 0",
                field="recorded_filename",
            )
        if not upload(request.recorded_filename, "recorded_filename").is_file():
            raise CampaignError(
                f"recorded_filename: {request.recorded_filename} is not in the upload area",
                ErrorKind.NOT_FOUND,
                field="recorded_filename",
            )

    def _check_variables(self, list_id: str, needed: set[str]) -> None:
        """Every contact must carry the fields the announcement or flow uses."""
        needed = needed - _BUILTIN_VARIABLES
        if not needed:
            return
        for contact in self.manager.lists.contacts(list_id):
            missing = needed - set(contact.fields)
            if missing:
                raise CampaignError(
                    f"announcement uses {{{sorted(missing)[0]}}} but contact "
                    f"{contact.number} has no such field"
                )


def retry_statuses(value: str | Sequence[str]) -> tuple[str, ...]:
    """`retry_on_statuses` ("NOANSWER,BUSY", "NO ANSWER|busy", a list) as RetryStatus
    values, duplicates dropped; nothing given is the default."""
    items = re.split(r"[,|;]", value) if isinstance(value, str) else value
    found: list[str] = []
    for item in items:
        name = " ".join(str(item).strip().upper().split())
        if not name:
            continue
        name = _STATUS_ALIASES.get(name, name)
        if name not in _RETRY_STATUSES:
            raise CampaignError(
                f"retry_on_statuses: {item!r} is not one of {', '.join(RetryStatus)}",
                field="retry_on_statuses",
            )
        if name not in found:
            found.append(name)
    return tuple(found) or DEFAULT_RETRY_ON
