"""The CPaaS API's replies as pydantic models, for the OpenAPI document (api.openapi).

They describe what the handlers send (``responses.ok`` / ``error_response``): every
reply is ``{"response": {..., "success": "true"|"false"}}`` with ``success`` a string,
numbers as the spec sends them (strings where it quotes them), times as HTTP dates.
Extra keys are refused (``additionalProperties: false``), so a reply that grows a key
the document does not know fails the schema test (tests/api/test_openapi_live.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from api.openapi.operation import Family
from softswitch.calls.live import CallKind
from softswitch.channel import ChannelState
from softswitch.store.callbacks import CallbackStatus
from softswitch.store.webhooks import DeliveryStatus

T = TypeVar("T")

HttpDate = Annotated[
    str,
    Field(
        description="an HTTP date in GMT (the epoch when there is none)",
        examples=["Fri, 07 Jul 2023 06:08:09 GMT"],
    ),
]
Message = Annotated[str, Field(description="what was done, or what was found")]


class Envelope(BaseModel, Generic[T]):
    """Every CPaaS reply, success or error, is one object under ``response``."""

    model_config = ConfigDict(extra="forbid")
    response: T


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    success: Literal["true"]


class Failure(BaseModel):
    """The error reply; ``message`` names the field at fault ("agent_number: ...")."""

    model_config = ConfigDict(extra="forbid")
    message: str
    success: Literal["false"]


CPAAS = Family(
    tag="CPaaS",
    description="The CPaaS API (cpaas-api.txt): every request carries the `account` and "
    '`auth` headers; replies are `{"response": {...}}` with `success` "true" or "false".',
    error=Envelope[Failure],
    errors=(400, 401, 429, 500),
    schemes={
        "account": {
            "type": "apiKey",
            "in": "header",
            "name": "account",
            "description": "the account id (account_1, ...)",
        },
        "auth": {
            "type": "apiKey",
            "in": "header",
            "name": "auth",
            "description": "the account's secret (`softswitch accounts ...`)",
        },
    },
    requirement=("account", "auth"),
    error_examples={
        400: {"response": {"message": "agent_number: field required", "success": "false"}},
        401: {"response": {"message": "invalid account or auth", "success": "false"}},
        429: {
            "response": {"message": "too many failed logins: try again later", "success": "false"}
        },
    },
)


class Done(_Reply):
    message: Message


class RequestIdReply(_Reply):
    request_id: Annotated[str, Field(examples=["57362de4f0"])]


class RequestIdDone(_Reply):
    message: Message
    request_id: str


class Listing(_Reply, Generic[T]):
    message: Message
    result: list[T]


class Found(_Reply, Generic[T]):
    message: Message
    result: T


# --- live calls -----------------------------------------------------------------------


class LiveCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    request_id: str
    call_type: CallKind
    state: ChannelState
    number: str
    agent_number: str
    customer_number: str
    caller_id: str
    bridged_channel: str
    start_time: HttpDate


class LiveStatistics(BaseModel):
    model_config = ConfigDict(extra="forbid")
    live_calls_c2c: int
    live_calls_campaign: int
    live_calls_inbound: int
    live_calls_otp: int


class LiveStatisticsReply(_Reply):
    result: LiveStatistics


# --- callbacks ------------------------------------------------------------------------


class CallbackItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str
    agent_number: str
    destination_number: str
    caller_id: str
    recording_option: Literal["both", "agent", "customer", "off"]
    transcript: Literal["on", "off"]
    time_zone: str
    scheduled_at: str
    status: CallbackStatus
    error: str


# --- CDRs -----------------------------------------------------------------------------


class SpeechInput(BaseModel):
    """One listen step's answer (softswitch.flow.SpeechInput)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    value: str
    outcome: Literal["choice", "digits", "number", "no_match", "no_input"]
    text: str
    confidence: float
    keys: str


class Cdr(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str
    agent_number: str
    answer: HttpDate
    billsec: float | None
    call_date: HttpDate
    call_direction: str
    call_duration: float | None
    call_status: str | None
    caller_id: str
    customer_number: str
    destination_context: str
    dial_status: str
    dialed_number: str
    dtmf_inputs: str
    end: HttpDate
    id: int | None
    answered_by: Annotated[
        str,
        Field(
            description="who answered, as answering-machine detection said it (amd): human,"
            " machine_start, machine_end_beep, machine_end_silence, machine_end_other,"
            " unknown; empty when the call asked for no detection"
        ),
    ]
    recording_name: Annotated[str, Field(description="GET /api/recordings/{name}")]
    request_id: str
    transcript: str
    uniqueid: str
    speech_inputs: Annotated[
        list[SpeechInput] | None,
        Field(description="the answers the flow's listen steps heard (only when it asked)"),
    ] = None


class CampaignCdr(Cdr):
    is_dnd: Literal["0", "1"]
    list_id: str


Count = Annotated[list[int], Field(min_length=1, max_length=1, description="[count]")]


class CdrStatistics(BaseModel):
    """Each count wrapped in a one-element list, as the spec shows it."""

    model_config = ConfigDict(extra="forbid")
    answer_calls: Count
    busy_calls: Count
    cancel_calls: Count
    chanunavail_calls: Count
    congestion_calls: Count
    noanswer_calls: Count
    total_calls: Count


class CampaignCdrStatistics(CdrStatistics):
    dnd_calls: Count


class CdrStatisticsReply(_Reply):
    result: CdrStatistics


class CampaignCdrStatisticsReply(_Reply):
    result: CampaignCdrStatistics


# --- templates and flows --------------------------------------------------------------


class TemplateId(_Reply):
    announce_template_id: str


class TemplateDeleted(_Reply):
    message: Message
    announce_template_id: str


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")
    announce_template_id: str
    template_name: str
    text: str


class FlowId(_Reply):
    flow_id: str


class FlowDone(_Reply):
    message: Message
    flow_id: str


class StoredFlow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flow_id: str
    flow_name: str
    flow: list[dict[str, Any]] = Field(description="the steps, as saved (normalized)")
    variables: list[str] = Field(description="the {fields} the flow's texts use")


# --- files ----------------------------------------------------------------------------


class FileItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file_name: str
    size: int


class Uploaded(_Reply):
    """One file uploaded."""

    message: Message
    file_name: str
    size: int


class UploadedMany(_Reply):
    """Several files uploaded."""

    message: Message
    result: list[FileItem]


# --- campaign manager -----------------------------------------------------------------


class ListId(_Reply):
    list_id: str


class DndListId(_Reply):
    dnd_list_id: str


class CampaignCreated(_Reply):
    campaign_id: str
    token: Annotated[str, Field(description="the campaign's Calls API token")]


class CampaignDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amd: Annotated[
        Literal["off", "detect", "leave_message"], Field(description="answering-machine detection")
    ]
    calls_per_minute: str
    campaign_caller_id: str
    campaign_end_date: HttpDate
    campaign_id: str
    campaign_name: str
    campaign_start_date: HttpDate
    campaign_status: Annotated[
        Literal["0", "1", "2", "3", "4"],
        Field(description="0 planned, 1 in process, 2 paused, 3 finished, 4 deleted"),
    ]
    campaign_type: str
    dnd_list_id: str
    list_id: str
    max_retries: str
    repeat_announcement_count: str
    retry_time: str
    time_zone: str
    token: str


# --- conferences ----------------------------------------------------------------------


class Room(BaseModel):
    model_config = ConfigDict(extra="forbid")
    room: str
    name: str
    pin: str
    record: Literal["true", "false"]
    max_participants: int
    participants: int
    recording_name: str
    source: Literal["config", "api"]


class Participant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    participant_id: str
    number: str
    channel: str
    direction: str
    muted: Literal["true", "false"]
    joined_at: float


class RoomDeleted(_Reply):
    message: Message
    room: str


class Dialing(_Reply):
    message: Message
    channel: str


class ParticipantRemoved(_Reply):
    message: Message
    participant_id: str


# --- numbers and ring groups ----------------------------------------------------------


class NumberDone(_Reply):
    message: Message
    number: str


class RingGroupDone(_Reply):
    message: Message
    id: str


# --- voicemail ------------------------------------------------------------------------


class VoicemailMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_id: str
    caller: str
    received_at: HttpDate
    duration: float
    heard: Literal["true", "false"]
    transcript: str


class VoicemailDone(_Reply):
    message: Message
    message_id: str


# --- webhooks -------------------------------------------------------------------------

IsoTime = Annotated[
    str,
    Field(
        description='an ISO 8601 time in UTC to the millisecond ("" when there is none)',
        examples=["2026-12-06T08:09:10.123Z"],
    ),
]


class WebhookSettingsReply(_Reply):
    """The account's status_callback; the secret itself is never shown again."""

    status_callback: Annotated[str, Field(description='"" when none is set')]
    secret_set: Literal["true", "false"]
    updated_at: IsoTime


class WebhookSettingsSet(WebhookSettingsReply):
    """``secret`` only when this change made the account's first secret."""

    message: Message
    secret: str | None = Field(None, description="the new signing secret, shown this once")


class WebhookSecretRotated(WebhookSettingsReply):
    message: Message
    secret: Annotated[str, Field(description="the new signing secret, shown this once")]


class DeliveryAttempt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: int
    at: IsoTime
    status_code: int | None = Field(description="null: no answer (refused, timed out)")
    error: str
    duration: float = Field(description="seconds")


class Delivery(BaseModel):
    """One event and its delivery attempts."""

    model_config = ConfigDict(extra="forbid")
    event_id: str
    type: str
    request_id: str
    created_at: IsoTime
    status: DeliveryStatus
    attempts: list[DeliveryAttempt]
    next_attempt_at: IsoTime = Field(description='"" unless the event is pending')
    payload: dict[str, Any] = Field(description="what is (or was) posted")


class Deliveries(Listing[Delivery]):
    total: int = Field(description="events of this status in all")
