"""How the dialer places a campaign call: the campaign's flow run by the call service."""

from __future__ import annotations

from typing import Any

from .calls import CallOutcome, CallService
from .campaigns.dialer import DialRequest
from .campaigns.model import Campaign
from .flowmodel import Flow, parse_flow


def campaign_flow(campaign: Campaign) -> Flow:
    """Type 1 campaigns carry a flow; type 0 is an announcement made into a one-step flow."""
    if campaign.campaign_type == 1:
        return parse_flow(campaign.flow or [])
    step: dict[str, Any]
    if campaign.dynamic_announcement:
        step = {"type": "say", "text": campaign.announcement_text, **campaign.voice}
    else:
        step = {"type": "play", "file": campaign.recorded_filename}
    step["repeat"] = max(1, campaign.repeat)
    return parse_flow([step])


class CampaignCalls:
    """The dialer's `place_call`: flows are parsed once per campaign."""

    def __init__(self, calls: CallService) -> None:
        self.calls = calls
        self._flows: dict[str, tuple[int, Flow]] = {}

    def _flow(self, campaign: Campaign) -> Flow:
        # a campaign's flow does not change once created; the id() guard covers a
        # campaign object reloaded with different content in tests
        cached = self._flows.get(campaign.id)
        marker = hash(repr((campaign.flow, campaign.announcement_text,
                            campaign.recorded_filename, campaign.voice, campaign.repeat)))
        if cached is None or cached[0] != marker:
            cached = (marker, campaign_flow(campaign))
            self._flows[campaign.id] = cached
        return cached[1]

    async def __call__(self, request: DialRequest) -> CallOutcome:
        campaign = request.campaign
        return await self.calls.dial_flow(
            account_id=request.account_id, number=request.number,
            caller_id=request.caller_id, flow=self._flow(campaign),
            variables=request.variables, request_id=request.request_id,
            context=request.context, direction="outbound-campaign",
            campaign_id=campaign.id, list_id=request.list_id)
