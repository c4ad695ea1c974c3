"""The JAICP Calls API's bodies and replies as pydantic models, for the OpenAPI document.

The campaign manager parses the requests itself (softswitch.campaigns.manager and
phones: its error messages are the JAICP ones); these models describe the same JSON
(calls-api-*.txt, calls-api-notes.md) and what `reports` and `errors` send back.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.openapi.operation import Family
from softswitch.campaigns.model import CampaignStatus, JobStatus

EpochMs = Annotated[int, Field(description="Unix time in milliseconds")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class CallsError(BaseModel):
    """A JAICP error: ``type`` says which (request.invalid, token.invalid,
    campaign.not.found, campaign.finished, campaign.notPaused, phone.duplicated,
    request.throttled, internal.error)."""

    model_config = ConfigDict(extra="forbid")
    type: str
    message: str
    field: str | None = None
    phone: str | None = Field(None, description="phone.duplicated: the first duplicate")
    phonesDuplicates: list[str] | None = Field(
        None, description="phone.duplicated: every number given twice"
    )


CALLS = Family(
    tag="Calls API",
    description="The JAICP Calls API (calls-api-*.txt): the campaign's token in the path is "
    "the only credential (the CPaaS create_campaign and get_campaign_details return it).",
    error=CallsError,
    errors=(400, 401, 404, 429, 500),
    error_examples={
        # the spec's own (calls-api-addPhones.txt)
        400: {
            "type": "phone.duplicated",
            "phone": "9991112223330",
            "message": "",
            "phonesDuplicates": ["9991112223330", "79123456789"],
        },
        401: {"type": "token.invalid", "message": "invalid token"},
    },
)


class Interval(BaseModel):
    localTimeFrom: Annotated[str, Field(examples=["10:00"], description="HH:mm, local")]
    localTimeTo: Annotated[
        str,
        Field(
            examples=["18:00"], description="HH:mm; before From: the interval ends on the next day"
        ),
    ]


class AllowedTime(BaseModel):
    """Intervals per weekday; ``default`` for the days not named."""

    default: list[Interval] | None = None
    mon: list[Interval] | None = None
    tue: list[Interval] | None = None
    wed: list[Interval] | None = None
    thu: list[Interval] | None = None
    fri: list[Interval] | None = None
    sat: list[Interval] | None = None
    sun: list[Interval] | None = None


class PhoneIn(BaseModel):
    """One number and its call policy."""

    phone: Annotated[str | int, Field(examples=["79123456789"])]
    payload: dict[str, Any] | None = Field(None, description="data passed to the script")
    startDateTime: str | None = Field(None, examples=["2020-03-23T00:00:00Z"])
    finishDateTime: str | None = Field(None, examples=["2020-03-23T00:00:00Z"])
    allowedDays: list[Weekday] | None = None
    allowedTime: AllowedTime | None = None
    retryIntervalInMinutes: int | None = None
    maxAttempts: int | None = None
    gmtZone: str | None = Field(
        None, description="Z, ±hh[:mm[:ss]] with an optional UTC/GMT/UT prefix, or an IANA zone"
    )
    dialerPriority: int | None = Field(None, description="1 (highest) to 5 (the default)")


class CrmForm(BaseModel):
    """addPhone's parameters as a form (the query's take part too); every other field
    is the job's payload."""

    model_config = ConfigDict(extra="allow")
    phone: str | None = Field(None, examples=["79123456789"])
    gmtZone: str | None = Field(None, examples=["+03:30"])


class JobsRef(BaseModel):
    """The jobs meant: by phone number and/or by call job id."""

    phones: list[str | int] | None = None
    ids: list[int] | None = None


class JobReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int
    phone: str
    payload: Any
    jobStatus: JobStatus
    startedAt: EpochMs | None
    finishedAt: EpochMs | None
    callDuration: Annotated[int, Field(description="seconds")]
    callResult: str | None
    reportData: dict[str, str]
    attemptsCount: int
    dialerPriority: int
    nextCallAt: EpochMs | None


class AttemptReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    callJobId: int
    attemptId: int
    attemptNumber: int
    phone: str
    payload: Any
    startedAt: EpochMs | None
    answeredAt: EpochMs | None
    finishedAt: EpochMs | None
    callDuration: Annotated[int, Field(description="seconds")]
    dialStatus: str
    answeredBy: Annotated[
        str,
        Field(
            description="who answered, when the campaign detects answering machines: human,"
            " machine_start, machine_end_beep, machine_end_silence, machine_end_other,"
            " unknown; empty otherwise"
        ),
    ]
    callResult: str | None
    reportData: dict[str, str]
    jobStatus: JobStatus


class ShortReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    totalNumbers: int
    processedNumbers: int
    usedTalkingTime: Annotated[float, Field(description="minutes")]
    usedAsrSeconds: int
    inProcessCalls: int
    retryCalls: int


class CampaignInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    projectName: str
    creationDate: EpochMs | None
    botId: str
    status: CampaignStatus
    shortReport: ShortReport
    startTime: EpochMs | None
    endTime: EpochMs | None
    maxSimultaneousCalls: int
