"""Campaigns: progress (planned / in process / done / failed), pacing, and pause,
resume and stop through the campaign manager the dialer runs."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import Campaign, CampaignStatus, JobStatus

from . import charts
from .security import Visitor
from .web import ActionError, Console, Endpoint

# a job's status -> the bar segment it counts in
PROGRESS = {
    JobStatus.PLANNED: "planned",
    JobStatus.ON_RETRY: "planned",
    JobStatus.IN_PROCESS: "in-process",
    JobStatus.LONG_CALL_WITH_RESULT: "done",
    JobStatus.LONG_CALL_WITH_NO_RESULT: "done",
    JobStatus.NO_ANSWER: "failed",
    JobStatus.NONEXISTENT_NUMBER: "failed",
    JobStatus.NOT_DONE: "failed",
    JobStatus.CANCELED: "failed",
}


@dataclass(slots=True, frozen=True)
class CampaignRow:
    campaign: Campaign
    counts: dict[str, int]  # planned, in-process, done, failed
    segments: list[charts.Segment]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def progress_counts(by_status: dict[str, int]) -> dict[str, int]:
    counts = dict.fromkeys(("planned", "in-process", "done", "failed"), 0)
    for status, n in by_status.items():
        counts[PROGRESS.get(JobStatus(status), "failed")] += n
    return counts


def routes(console: Console) -> list[BaseRoute]:
    ctx = console.ctx
    manager = ctx.dialer.manager if ctx.dialer is not None else CampaignManager(ctx.store.db)

    @console.page
    async def listing(request: Request, who: Visitor) -> Response:
        rows = []
        for campaign in manager.campaigns.of_account(who.account_id):
            if campaign.status is CampaignStatus.DELETED:
                continue
            counts = progress_counts(manager.jobs.status_counts(campaign.id))
            rows.append(CampaignRow(campaign, counts, charts.progress(counts)))
        return console.render(request, "campaigns.html", who, rows=rows, chart=charts)

    def control(verb: str) -> Endpoint:
        @console.action(back="/console/campaigns")
        async def act(request: Request, who: Visitor, form: dict[str, str]) -> str:
            campaign_id = request.path_params["campaign_id"]
            campaign = manager.get(campaign_id, who.account_id)
            if campaign is None or campaign.status is CampaignStatus.DELETED:
                raise ActionError(f"no campaign {campaign_id}", 404)
            status = getattr(manager, verb)(campaign)
            return f"campaign {campaign.name}: {status.value}"

        return act

    return [
        Route("/console/campaigns", listing, methods=["GET"]),
        *(
            Route(f"/console/campaigns/{{campaign_id}}/{verb}", control(verb), methods=["POST"])
            for verb in ("pause", "resume", "stop")
        ),
    ]
