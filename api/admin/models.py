"""The admin API's replies and PATCH body as pydantic models, for the OpenAPI document
(`extensions`, `features`, `live`, `cdrs` and `errors` build the same JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.openapi.operation import Family
from softswitch.channel import ChannelState, Direction, EndpointKind
from softswitch.config import MAX_NO_ANSWER_TIMEOUT
from softswitch.numbers import InboundNumber
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
    account: str | None = Field(description="the CPaaS account it belongs to")
    outside_caller_id: str | None = Field(description="caller ID on calls through a trunk")
    max_devices: int | None = Field(description="devices registered at once")
    codecs: list[str] = Field(description="codecs its calls may use; [] = any")
    transports: list[str] = Field(description="transports it may register over; [] = any")
    voicemail: bool
    source: str | None = Field(description="config, generated or api")
    registrations: list[Registration]


class ExtensionChanges(BaseModel):
    """The settings to change; what is not named stays."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=64)
    account: str | None = Field(None, description='an existing CPaaS account; "" = none')
    outside_caller_id: str | None = Field(None, pattern=r"^(\+?[0-9]{1,32})?$")
    max_devices: int | None = Field(None, ge=1, le=8)
    codecs: list[Literal["PCMU", "PCMA"]] | None = None
    transports: list[Literal["UDP", "TCP", "TLS"]] | None = None
    voicemail: bool | None = None


class NewExtension(ExtensionChanges):
    number: str = Field(pattern=r"^[0-9]{1,20}$")


class ExtensionCreated(Extension):
    password: str = Field(description="generated; shown in this answer only")


class ExtensionPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str
    password: str = Field(description="generated; shown in this answer only")


class ExtensionRemoved(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str
    removed: bool


class TrunkChanges(BaseModel):
    """A trunk's settings (the [[trunks]] keys); in a PATCH only what changes."""

    model_config = ConfigDict(extra="forbid")
    host: str | None = Field(None, description="host[:port]; the name must resolve")
    username: str | None = None
    password: str | None = Field(None, description="never shown again")
    # "register" would shadow BaseModel.register: the JSON key is the alias
    register_: bool | None = Field(None, alias="register")
    caller_id: str | None = None
    prefixes: list[str] | None = None
    transport: Literal["udp", "tcp", "tls", "UDP", "TCP", "TLS"] | None = None
    ca_file: str | None = None
    verify: bool | None = None
    expires: int | None = Field(None, ge=10, le=86400)
    inbound_from: list[str] | None = None
    account: str | None = None
    srtp: Literal["", "off", "optional", "mandatory"] | None = None
    keepalive: int | None = Field(None, ge=0, le=3600)
    prack: Literal["off", "supported", "required"] | None = None


class NewTrunk(TrunkChanges):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    host: str = Field(description="host[:port]; the name must resolve")


class TrunkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    host: str
    username: str
    password_set: bool
    register_: bool = Field(alias="register")
    caller_id: str
    prefixes: list[str]
    transport: str
    ca_file: str
    verify: bool
    expires: int
    inbound_from: list[str]
    account: str
    srtp: str
    keepalive: int | None
    prack: str
    source: str = Field(description="config or api")
    state: TrunkState | None
    carrier: CarrierState | None
    last_error: str | None


class TrunkList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trunks: list[TrunkSettings]


class TrunkRemoved(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    removed: bool


class AdminNumbers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    numbers: list[InboundNumber]


class NumberRemoved(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str
    removed: bool


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
    answered_by: str

    speech_inputs: str
    id: int | None


class AdminCdrs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: float = Field(description="the window's start (unix time)")
    until: float = Field(description="the window's end (unix time)")
    cdrs: list[AdminCdr]


class Drain(BaseModel):
    """A cluster node's place in the front door's rotation (/api/admin/drain)."""

    model_config = ConfigDict(extra="forbid")
    node_id: str
    draining: bool  # true: probes and new calls from the front door get 503
    live_channels: int
