"""Request bodies of the CPaaS API as pydantic models.

The spec sends every value as a JSON string ("repeat": "1"); numeric fields also take
JSON numbers, text fields take only strings (a number where a string belongs is a
client bug worth a 400). Unknown keys are ignored, as the spec's own examples carry
keys that some endpoints do not use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

_NUMBER_CHARS = re.compile(r"\+?[0-9 ().\-]+\Z")
_REQUEST_ID = re.compile(r"[0-9a-f]{10}\Z")
_TEMPLATE_ID = re.compile(r"AN[0-9a-f]{10}\Z")
_FLOW_ID = re.compile(r"FL[0-9a-f]{10}\Z")
_OTP = re.compile(r"[0-9A-Za-z]{1,16}\Z")
MAX_DIGITS = 16


# eq=False: hashed by identity (the schemas are dicts), as Annotated metadata must hash
@dataclass(frozen=True, slots=True, eq=False)
class AlsoAccepts:
    """The JSON schema (for the OpenAPI document) of a field whose BeforeValidator takes
    more than its type: the type's own schema, or any of these ("5" for 5: the spec
    sends numbers as strings)."""

    schemas: tuple[JsonSchemaValue, ...]

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        own = handler(core_schema)
        # bounds after a BeforeValidator come out under their pydantic names (ge, le):
        # JSON Schema calls them minimum and maximum
        own = {_BOUNDS.get(key, key): value for key, value in own.items()}
        return {"anyOf": [own, *self.schemas]}


_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _number(value: str) -> str:
    """Digits with an optional leading '+'; visual separators dropped."""
    text = value.strip()
    if not _NUMBER_CHARS.match(text):
        raise ValueError(f"{value!r} is not a phone number or extension (digits, optional +)")
    digits = "".join(ch for ch in text if ch.isdigit())
    if not 2 <= len(digits) <= MAX_DIGITS:
        raise ValueError(f"{value!r} must have 2 to {MAX_DIGITS} digits")
    return ("+" if text.startswith("+") else "") + digits


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _whole(value: Any) -> Any:
    """ "5" or 5 -> 5; anything else stays for pydantic to refuse."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,9}", text):
            raise ValueError(f"{value!r} is not a whole number")
        return int(text)
    return value


def _pattern(regex: re.Pattern[str], what: str):
    def check(value: str) -> str:
        value = value.strip()
        if not regex.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return check


def _doc(description: str, pattern: str | None = None, example: str | None = None) -> Any:
    """What the OpenAPI document says of a field type; validation stays the validators'."""
    extra: dict[str, Any] = {} if pattern is None else {"pattern": pattern}
    return Field(
        description=description,
        examples=None if example is None else [example],
        json_schema_extra=extra or None,
    )


Number = Annotated[
    str,
    AfterValidator(_number),
    _doc(
        "a phone number with country code or an extension: 2 to 16 digits, an optional "
        "leading +; spaces, dots, dashes and parentheses are dropped",
        example="919979271234",
    ),
]
Text = Annotated[str, Field(min_length=1, max_length=200)]
CallerId = Annotated[
    str,
    AfterValidator(_number),
    _doc("the number the called party sees", example="15168148111"),
]
RequestId = Annotated[
    str,
    AfterValidator(_pattern(_REQUEST_ID, "a request_id (10 hex characters)")),
    _doc("a request_id: 10 hex characters", r"^\s*[0-9a-f]{10}\s*$", "57362de4f0"),
]
TemplateId = Annotated[
    str,
    AfterValidator(_pattern(_TEMPLATE_ID, "an announce_template_id (AN + 10 hex)")),
    _doc("an announce_template_id: AN + 10 hex", r"^\s*AN[0-9a-f]{10}\s*$", "AN2222314c96"),
]
FlowId = Annotated[
    str,
    AfterValidator(_pattern(_FLOW_ID, "a flow_id (FL + 10 hex)")),
    _doc("a flow_id: FL + 10 hex", r"^\s*FL[0-9a-f]{10}\s*$", "FL0123456789"),
]
OnOff = Annotated[Literal["on", "off"], BeforeValidator(_lower)]
# answering-machine detection (softswitch.answering.AmdMode)
Amd = Annotated[
    Literal["off", "detect", "leave_message"],
    BeforeValidator(_lower),
    Field(
        description="answering-machine detection: off; detect (a machine is hung up on); "
        "leave_message (on a machine the announcement starts after its beep or the end "
        "of its greeting, so it lands in the mailbox). The CDR's answered_by says who "
        "answered"
    ),
]
# "on" is what the spec's examples send: both sides
RecordingOption = Annotated[
    Literal["both", "agent", "customer", "off", "on"], BeforeValidator(_lower)
]


# "5" or 5; its bounds go beside it: Annotated[Whole, Field(ge=1, le=10)]
Whole = Annotated[
    int,
    BeforeValidator(_whole),
    Field(strict=False),
    AlsoAccepts(({"type": "string", "pattern": r"^\s*[+-]?[0-9]{1,9}\s*$"},)),
]


def recording(option: str) -> str:
    return "both" if option == "on" else option


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=4000)


class Click2CallRequest(_Body):
    """Dial the agent; when the agent answers, dial the destination and bridge them.
    recording_option: both sides ("on" is both), the agent's, the customer's, or off;
    transcript "on" adds a transcript to the CDR."""

    agent_number: Number
    caller_id: CallerId
    destination_number: Number
    recording_option: RecordingOption = "off"
    transcript: OnOff = "off"


class CallbackCreate(_Body):
    """A click2call at ``scheduled_at`` (YYYY-mm-dd hh:mm:ss) in ``time_zone`` (an IANA
    name such as Asia/Kolkata), at most a year ahead."""

    agent_number: Number
    caller_id: CallerId
    destination_number: Number
    recording_option: RecordingOption = "off"
    transcript: OnOff = "off"
    time_zone: Text
    scheduled_at: Text


class CallbackUpdate(_Body):
    """Change a pending callback: the fields given replace the stored ones."""

    request_id: RequestId
    agent_number: Number | None = None
    caller_id: CallerId | None = None
    destination_number: Number | None = None
    recording_option: RecordingOption | None = None
    transcript: OnOff | None = None
    time_zone: Text | None = None
    scheduled_at: Text | None = None


class RequestIdBody(_Body):
    request_id: RequestId


class VoiceBody(_Body):
    """The spec's voice parameters, shared by OTP calls and campaigns (see api.cpaas.voice)."""

    voice: Text | None = None
    volume: Text | None = None
    rate: Text | None = None
    pitch: Text | None = None
    language_code: Text | None = None
    tts_engine_type: Text | None = None


class OutboundCall(VoiceBody):
    """Call the customer and say the template's text with ``{otp}`` spelled out,
    ``repeat`` times (1-10)."""

    customer_number: Number
    otp: Annotated[str, AfterValidator(_pattern(_OTP, "an OTP (1-16 letters or digits)"))]
    announce_template_id: TemplateId
    repeat: Annotated[Whole, Field(ge=1, le=10)] = 1
    caller_id: CallerId
    amd: Amd = "off"


class AnnounceTemplateCreate(_Body):
    template_name: Text | None = None
    text: Annotated[str, Field(min_length=1, max_length=1000)]


class AnnounceTemplateRef(_Body):
    announce_template_id: TemplateId


class ModifyCall(_Body):
    """modify_type 0: blind transfer of ``channel``'s party to ``transfer_to``;
    1: attended transfer; 2: hang up; 3: start recording. ``channel`` is a live_calls
    channel."""

    channel: Annotated[str, Field(min_length=1, max_length=200)]
    modify_type: Annotated[
        Literal[0, 1, 2, 3],
        BeforeValidator(_whole),
        AlsoAccepts(({"type": "string", "pattern": r"^\s*[+-]?0*[0-3]\s*$"},)),
    ]
    transfer_to: Number | None = None


def _day_or_time(value: str) -> datetime:
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if not 1970 <= parsed.year <= 2100:
            raise ValueError(f"{value!r} is out of range (years 1970-2100)")
        return parsed
    raise ValueError(f"{value!r} is not a date (YYYY-mm-dd or YYYY-mm-dd hh:mm:ss)")


class CdrByDate(_Body):
    """Dates YYYY-mm-dd or YYYY-mm-dd hh:mm:ss (UTC); a bare end date includes that day."""

    start_call_date: Annotated[str, AfterValidator(lambda v: (_day_or_time(v), v)[1])]
    end_call_date: Annotated[str, AfterValidator(lambda v: (_day_or_time(v), v)[1])]
    record_count: Annotated[Whole, Field(ge=1, le=10_000)] = 1000
    offset: Annotated[Whole, Field(ge=0, le=1_000_000_000)] = 0

    def window(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC wall time; a bare end date includes that whole day."""
        start = _day_or_time(self.start_call_date)
        end = _day_or_time(self.end_call_date)
        # the end is inclusive: its whole day, or its whole second
        end += timedelta(days=1) if len(self.end_call_date.strip()) == 10 else timedelta(seconds=1)
        return start, end


class FlowBody(_Body):
    flow_name: Text
    flow: list[Any]


class FlowRef(_Body):
    flow_id: FlowId


class WebhookSettingsBody(_Body):
    status_callback: Annotated[str, Field(max_length=2048)]  # "" clears it


class DeliveriesQuery(_Body):
    status: Literal["pending", "delivered", "failed"] | None = None
    record_count: Annotated[Whole, Field(ge=1, le=1000)] = 50
    offset: Annotated[Whole, Field(ge=0, le=1_000_000_000)] = 0


class VoicemailUpdate(_Body):
    heard: StrictBool
