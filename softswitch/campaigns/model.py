"""Campaigns, call jobs and call attempts: one model for the CPaaS and the JAICP APIs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from softswitch.answering import AmdMode


class CampaignStatus(StrEnum):
    PLANNED = "planned"
    IN_PROCESS = "inProcess"
    PAUSED = "paused"
    FINISHED = "finished"
    DELETED = "deleted"


# get_campaign_details shows a number; "3" in the spec's example is a finished campaign
CPAAS_STATUS_CODES = {
    CampaignStatus.PLANNED: "0",
    CampaignStatus.IN_PROCESS: "1",
    CampaignStatus.PAUSED: "2",
    CampaignStatus.FINISHED: "3",
    CampaignStatus.DELETED: "4",
}


class JobStatus(StrEnum):
    PLANNED = "planned"
    IN_PROCESS = "inProcess"
    ON_RETRY = "onRetry"
    LONG_CALL_WITH_RESULT = "longCallWithResult"
    LONG_CALL_WITH_NO_RESULT = "longCallWithNoResult"
    NO_ANSWER = "noAnswer"
    NONEXISTENT_NUMBER = "nonexistentNumber"
    NOT_DONE = "notDone"
    CANCELED = "canceled"


QUEUED_STATUSES = frozenset({JobStatus.PLANNED, JobStatus.ON_RETRY})
FINAL_STATUSES = frozenset(
    {
        JobStatus.LONG_CALL_WITH_RESULT,
        JobStatus.LONG_CALL_WITH_NO_RESULT,
        JobStatus.NO_ANSWER,
        JobStatus.NONEXISTENT_NUMBER,
        JobStatus.NOT_DONE,
        JobStatus.CANCELED,
    }
)


class JobSource(StrEnum):
    """Where a job came from; only API and TEST jobs may be canceled through the Calls API."""

    API = "api"  # addPhones, addPhone
    TEST = "test"  # crmCalls test/addPhone
    LIST = "list"  # a CPaaS campaign's contact list


class RetryStatus(StrEnum):
    """The dial statuses a campaign may retry on (`retry_on_statuses`)."""

    NOANSWER = "NOANSWER"
    BUSY = "BUSY"
    CHANUNAVAIL = "CHANUNAVAIL"
    CONGESTION = "CONGESTION"
    CANCEL = "CANCEL"
    # an answered call that answering-machine detection (the campaign's `amd`) found a
    # machine on: dialed again later, in the hope of a person
    MACHINE = "MACHINE"


# SIP final responses meaning the number does not exist (not found, address incomplete,
# does not exist anywhere)
NONEXISTENT_SIP_STATUSES = frozenset({404, 484, 604})
DEFAULT_RETRY_ON = ("NOANSWER", "BUSY", "CHANUNAVAIL", "CONGESTION")  # RetryStatus values
DEFAULT_PRIORITY = 5
# a flow may ask for a redial after the attempts ran out; this caps runaway scripts
MAX_REDIALS = 10


def normalize_priority(value: object) -> int:
    """1..5; anything missing or out of range is 5 (calls-api-addPhones.txt)."""
    priority = valid_priority(value)
    return DEFAULT_PRIORITY if priority is None else priority


def valid_priority(value: object) -> int | None:
    """The priority 1..5 that `value` names, or None (missing, out of range, not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 1 <= value <= 5:
        return value
    return None


def new_campaign_id() -> str:
    return "CM" + secrets.token_hex(5)


def new_token(account_id: str, campaign_id: str) -> str:
    return f"{account_id}.{campaign_id}.{secrets.token_hex(12)}"


def new_request_id() -> str:
    return secrets.token_hex(5)


@dataclass(slots=True)
class Campaign:
    id: str
    account_id: str
    name: str
    token: str
    status: CampaignStatus = CampaignStatus.PLANNED
    campaign_type: int = 1  # 0 = announcement, 1 = connect to a flow
    caller_id: str = ""
    list_id: str = ""
    dnd_list_id: str = ""
    created_at: float = 0.0
    start_at: float | None = None  # unix; None = as soon as started
    end_at: float | None = None
    time_zone: str = "UTC"
    max_retries: int = 0  # attempts after the first one
    retry_time: float = 60.0  # seconds between attempts
    retry_on: tuple[str, ...] = DEFAULT_RETRY_ON  # dial statuses worth another attempt
    calls_per_minute: float = 10.0
    max_simultaneous: int = 10
    repeat: int = 1
    dynamic_announcement: bool = True
    announcement_text: str = ""
    recorded_filename: str = ""
    voice: dict[str, str] = field(default_factory=dict)
    flow: list[Any] | None = None  # the flow's JSON steps (type 1)
    bot_id: str = ""
    project_name: str = ""
    stopped_at: float | None = None
    amd: AmdMode = AmdMode.OFF  # answering-machine detection on its calls

    @property
    def max_attempts(self) -> int:
        return 1 + self.max_retries

    @property
    def context(self) -> str:
        return f"local_call_campaign_type_{self.campaign_type}"


@dataclass(slots=True)
class Job:
    id: int
    campaign_id: str
    account_id: str
    phone: str
    payload: Any = field(default_factory=dict)  # a JSON object but for Calls API jobs
    status: JobStatus = JobStatus.PLANNED
    priority: int = DEFAULT_PRIORITY
    next_at: float = 0.0  # unix: when the job is next due
    gmt_zone: str = ""  # as given; "" = inferred from the number or the campaign zone
    policy: dict[str, Any] = field(default_factory=dict)  # CallWindow.to_json()
    max_attempts: int = 1
    retry_interval: float = 60.0  # seconds
    attempts_made: int = 0
    redials: int = 0
    source: JobSource = JobSource.API
    list_id: str = ""
    contact_name: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    started_at: float | None = None  # first dial of the job
    finished_at: float | None = None  # end of its last call
    call_duration: float = 0.0  # seconds talked, all attempts
    result: str | None = None
    report_data: list[tuple[str, str, int]] = field(default_factory=list)
    dial_status: str = ""  # of the last attempt


@dataclass(frozen=True, slots=True)
class ShortReport:
    """A campaign's progress: its numbers (jobs) by state and the time talked."""

    numbers: int
    processed: int  # jobs in a final status
    talk_seconds: float
    in_process: int
    on_retry: int
    asr_seconds: float = 0.0  # audio the speech recognizer processed (usedAsrSeconds)


@dataclass(slots=True)
class Attempt:
    id: int
    job_id: int
    campaign_id: str
    number: int  # 1-based within the job
    phone: str
    request_id: str
    started_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    dial_status: str = ""  # ANSWER, BUSY, NOANSWER, ... ; INTERRUPTED after a crash
    sip_status: int = 0
    result: str | None = None
    report_data: list[tuple[str, str, int]] = field(default_factory=list)
    answered_by: str = ""  # AnsweredBy when the campaign detects machines, else ""

    # audio the speech recognizer processed on the call (kept as the job's sum, not per
    # attempt row)
    asr_seconds: float = 0.0

    @property
    def duration(self) -> float:
        if self.answered_at is None or self.ended_at is None:
            return 0.0
        return max(0.0, self.ended_at - self.answered_at)
