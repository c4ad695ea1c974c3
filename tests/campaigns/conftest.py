"""Fixtures for the campaign tests: a store on disk, a manual clock, a campaign factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from softswitch.campaigns.clock import ManualClock
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import Campaign, CampaignStatus, new_campaign_id, new_token
from softswitch.store import Store

# Monday 2024-03-04 12:00:00 UTC
MONDAY_NOON = datetime(2024, 3, 4, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def store(store_url: str) -> Store:
    s = Store(store_url)
    yield s
    s.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_NOON)


@pytest.fixture
def manager(store: Store, clock: ManualClock) -> CampaignManager:
    return CampaignManager(store.db, clock)


@pytest.fixture
def make_campaign(manager: CampaignManager) -> Callable[..., Campaign]:
    def make(account_id: str = "account_1", **fields) -> Campaign:
        cid = new_campaign_id()
        fields.setdefault("status", CampaignStatus.IN_PROCESS)
        fields.setdefault("start_at", manager.clock.now())
        campaign = Campaign(
            id=cid,
            account_id=account_id,
            name=fields.pop("name", cid),
            token=new_token(account_id, cid),
            **fields,
        )
        return manager.create(campaign)

    return make
