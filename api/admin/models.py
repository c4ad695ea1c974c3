"""The admin API's replies and PATCH body as pydantic models, for the OpenAPI document
(`extensions`, `features`, `live`, `cdrs` and `errors` build the same JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.openapi.operation import Family
from softswitch.channel import ChannelState, Direction, EndpointKind
from softswitch.config import MAX_NO_ANSWER_TIMEOUT
from softswitch.trunk import TrunkState
from softswitch.trunk_keepalive import CarrierState


class AdminErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: int
    message: str


class AdminErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error: AdminErrorDetail


ADMIN = Family(
    tag="Admin",
    description="The operator's API: a bearer admin token from `softswitch admin token`.",
    error=AdminErrorBody,
    errors=(401, 429),
    schemes={
        "adminToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "an admin token (`softswitch admin token`)",
        }
    },
    requirement=("adminToken",),
    error_examples={401: {"error": {"status": 401, "message": "invalid admin token"}}},
)


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact: str
    source_host: str
    source_port: int
    transport: str
    user_agent: str
    expires_in: int
    reachable: bool


class Extension(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str
    name: str | None
    registrations: list[Registration]


class Extensions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    extensions: list[Extension]


class Features(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str
    forward_always: str | None
    forward_busy: str | None
    forward_no_answer: str | None
    no_answer_timeout: int
    dnd: bool
    pickup_group: str | None = Field(description="from the config file: not changed here")


class FeaturesPatch(BaseModel):
    """Only what changes; a forwarding target of null or "" turns it off."""

    model_config = ConfigDict(extra="forbid")
    forward_always: str | None = None
    forward_busy: str | None = None
    forward_no_answer: str | None = None
    no_answer_timeout: int | None = Field(None, ge=1, le=MAX_NO_ANSWER_TIMEOUT)
    dnd: bool | None = None


# --- status, live calls, CDRs (live.py and cdrs.py build the same JSON) -----------------


class Trunk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    state: TrunkState = Field(description="its registration")
    carrier: CarrierState = Field(description="its OPTIONS keepalive")
    last_error: str | None
    host: str


class Phone(BaseModel):
    """One registration of an extension."""

    model_config = ConfigDict(extra="forbid")
    number: str
    name: str | None
    transport: str
    address: str = Field(description="host:port the phone registered from")
    reachable: bool
    user_agent: str | None
    expires_in: int


class Legs(BaseModel):
    """Live channels by direction (softswitch.channel.Direction)."""

    model_config = ConfigDict(extra="forbid")
    inbound: int
    outbound: int


class CallCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channels: int
    bridged: int = Field(description="bridged pairs of channels")
    legs: Legs


class Status(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ok", "stopped"]
    trunks: list[Trunk]
    phones: list[Phone]
    calls: CallCounts


class LiveChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    direction: Direction
    endpoint: EndpointKind
    endpoint_name: str
    number: str
    state: ChannelState
    bridged_channel: str | None
    codec: str | None
    started_at: float = Field(description="unix time")
    answered_at: float | None
    duration: float = Field(description="seconds since it started")
    account: str | None = Field(description="the CPaaS account whose call it is")
    request_id: str | None


class LiveChannels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    calls: list[LiveChannel]


class AdminCdr(BaseModel):
    """A CDR as stored (softswitch.store.cdrs.Cdr): unix times, every account."""

    model_config = ConfigDict(extra="forbid")
    account_id: str
    request_id: str
    call_direction: str
    destination_context: str
    caller_id: str
    agent_number: str
    customer_number: str
    dialed_number: str
    call_date: float
    answer: float | None
    end: float | None
    call_duration: float | None
    billsec: float | None
    call_status: str | None
    dial_status: str
    dtmf_inputs: str
    recording_name: str
    transcript: str
    uniqueid: str
    campaign_id: str
    list_id: str
    is_dnd: bool
    hangup_cause: str
    transfers: str
    speech_inputs: str
    id: int | None


class AdminCdrs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: float = Field(description="the window's start (unix time)")
    until: float = Field(description="the window's end (unix time)")
    cdrs: list[AdminCdr]
