"""A campaign's webhooks: each job's status as the dialer moves it, and the campaign's
end, written to the outbox of the campaign's account (and of no other)."""

from __future__ import annotations

import asyncio
import json

from softswitch.campaigns.clock import SystemClock
from softswitch.campaigns.dialer import Dialer
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import (
    FINAL_STATUSES,
    Campaign,
    CampaignStatus,
    new_campaign_id,
    new_token,
)
from softswitch.outcome import CallOutcome
from softswitch.store import Store
from softswitch.store.webhooks import WebhookSettings, WebhookStore


async def test_job_statuses_and_the_campaigns_end_are_recorded_in_order(store_url) -> None:
    store = Store(store_url)
    hooks = WebhookStore(store.db)
    hooks.put_settings(WebhookSettings("acc", "http://127.0.0.1:9/hook", "whsec_x", 0.0))
    manager = CampaignManager(store.db, SystemClock())
    cid = new_campaign_id()
    campaign = manager.create(
        Campaign(
            id=cid,
            account_id="acc",
            name="hooks",
            token=new_token("acc", cid),
            status=CampaignStatus.IN_PROCESS,
            calls_per_minute=6000,
            max_simultaneous=1,
        )
    )
    ids = manager.add_phones(campaign, [{"phone": "5550001"}, {"phone": "5550002"}], None)

    async def place_call(request):
        return CallOutcome(True, 200, "ANSWER", 0.0, 1.0, answered_at=0.5)

    dialer = Dialer(manager, place_call, number_check=lambda n: True)
    await dialer.start()
    for _ in range(200):
        if all(manager.jobs.get(i).status in FINAL_STATUSES for i in ids):
            break
        await asyncio.sleep(0.02)
    await dialer.stop()
    manager.stop(manager.campaigns.get(cid))

    events, total = hooks.listing("acc", limit=100)
    bodies = [json.loads(e.body) for e in reversed(events)]  # oldest first
    jobs = [(b["data"]["job_id"], b["data"]["status"]) for b in bodies[:-1]]
    assert jobs == [
        (ids[0], "inProcess"),
        (ids[0], "longCallWithNoResult"),
        (ids[1], "inProcess"),
        (ids[1], "longCallWithNoResult"),
    ]
    assert {b["type"] for b in bodies[:-1]} == {"campaign.job_status_changed"}
    attempt = manager.jobs.attempts([ids[0]])[0]
    assert bodies[0]["request_id"] == attempt.request_id  # the call's, as in its CDR
    assert bodies[0]["data"]["campaign_id"] == cid and bodies[0]["data"]["phone"] == "5550001"
    assert bodies[-1]["type"] == "campaign.finished"
    assert bodies[-1]["data"] == {"campaign_id": cid, "jobs": {"longCallWithNoResult": 2}}
    assert total == 5 and hooks.listing("other")[1] == 0
    store.close()
