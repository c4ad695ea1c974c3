"""What a campaign call does once answered, and the bridge from the dialer to CallService.

Type 0 (announcement): the dynamic text (`{field}` variables from the contact or the
payload) or the uploaded recording, `repeat` times. Type 1 (connect to a flow): the
campaign's own flow when it has one; otherwise a one-question survey: the announcement,
then one key press, which becomes the call's result and a report column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from softswitch.flowmodel import Flow, parse_flow
from softswitch.outcome import CallOutcome, DialStatus

from .dialer import DialRequest, PlaceCall
from .model import Attempt, Campaign, Job

if TYPE_CHECKING:
    from softswitch.calls import CallService
    from softswitch.store.cdrs import CdrStore

SURVEY_KEYS = "0123456789*#"
SURVEY_TIMEOUT = 10.0


def announcement_step(campaign: Campaign) -> dict[str, Any]:
    repeat = max(1, min(20, campaign.repeat))
    if campaign.dynamic_announcement:
        voice = {k: v for k, v in campaign.voice.items() if v}
        return {"type": "say", "text": campaign.announcement_text, "repeat": repeat, **voice}
    return {"type": "play", "file": campaign.recorded_filename, "repeat": repeat}


def campaign_steps(campaign: Campaign) -> list[dict[str, Any]]:
    if campaign.flow:
        return list(campaign.flow)
    announce = announcement_step(campaign)
    if campaign.campaign_type == 0:
        return [announce]
    branches = {
        key: [
            {"type": "set_result", "value": key},
            {"type": "report", "header": "key", "value": key, "order": 1},
        ]
        for key in SURVEY_KEYS
    }
    gather: dict[str, Any] = {
        "type": "gather",
        "num_digits": 1,
        "timeout": SURVEY_TIMEOUT,
        "finish_on_key": "",
        "name": "key",
        "branches": branches,
    }
    if announce["type"] == "say":
        return [{**gather, "prompt": {**announce, "barge_in": True}}]
    return [{**announce, "barge_in": True}, gather]


def campaign_flow(campaign: Campaign) -> Flow:
    """The campaign's flow, validated (FlowError names the step and field)."""
    return parse_flow(campaign_steps(campaign))


class CallServicePlacer:
    """`place_call` for the Dialer: a campaign call through CallService.dial_flow, which
    dials, runs the flow, writes the CDR and returns the outcome."""

    def __init__(self, calls: CallService, ring_timeout: float | None = None) -> None:
        self.calls = calls
        self.ring_timeout = ring_timeout
        self._flows: dict[str, Flow] = {}  # campaign id -> parsed flow (campaigns don't change)

    def flow_of(self, campaign: Campaign) -> Flow:
        flow = self._flows.get(campaign.id)
        if flow is None:
            flow = self._flows[campaign.id] = campaign_flow(campaign)
        return flow

    async def __call__(self, request: DialRequest) -> CallOutcome:
        campaign = request.campaign
        return await self.calls.dial_flow(
            account_id=campaign.account_id,
            number=request.number,
            caller_id=campaign.caller_id,
            flow=self.flow_of(campaign),
            variables=request.variables,
            request_id=request.request_id,
            context=campaign.context,
            direction="outbound-campaign",
            campaign_id=campaign.id,
            list_id=request.list_id,
            ring_timeout=self.ring_timeout,
            amd=campaign.amd,
        )


def placer(calls: CallService, ring_timeout: float | None = None) -> PlaceCall:
    return CallServicePlacer(calls, ring_timeout)


class CdrRecovery:
    """`recover_outcome` for the Dialer: when the process died after CallService wrote an
    attempt's CDR but before the dialer recorded the outcome, the CDR (found by the
    attempt's request_id) says how the call went. Without a CDR the attempt is
    INTERRUPTED."""

    def __init__(self, cdrs: CdrStore) -> None:
        self.cdrs = cdrs

    def __call__(self, job: Job, attempt: Attempt) -> CallOutcome | None:
        rows = [
            c
            for c in self.cdrs.by_request_id(job.account_id, attempt.request_id)
            if c.campaign_id == job.campaign_id and c.dial_status != DialStatus.DND
        ]
        if not rows:
            return None
        cdr = rows[-1]
        end = cdr.end if cdr.end is not None else attempt.started_at
        return CallOutcome(
            answered=cdr.answer is not None and cdr.dial_status == DialStatus.ANSWER,
            sip_status=200 if cdr.dial_status == DialStatus.ANSWER else 0,
            dial_status=cdr.dial_status,
            started_at=cdr.call_date,
            ended_at=end,
            answered_at=cdr.answer,
            answered_by=cdr.answered_by,
        )
