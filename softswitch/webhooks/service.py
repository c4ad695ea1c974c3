"""The webhooks of one switch: the event hooks, the settings, the delivery worker."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..config import WebhooksConfig
from ..store.engine import Database
from ..store.webhook_lanes import WebhookLanes
from ..store.webhooks import DeliveryStatus, OutboxEvent, WebhookStore
from .delivery import DeliveryWorker
from .events import WebhookEvents
from .settings import WebhookSettingsService


class Webhooks:
    def __init__(
        self,
        db: Database,
        config: WebhooksConfig,
        api_listen: tuple[str, int],
        *,
        clock: Callable[[], float] = time.time,
        node_id: str = "local",
        lease: float = 30.0,
    ) -> None:
        self.store = WebhookStore(db)
        self.events = WebhookEvents(self.store, clock)
        self.settings = WebhookSettingsService(self.store, api_listen, clock=clock)
        # each account's lane on one node of those sharing the store ([cluster])
        self.worker = DeliveryWorker(
            self.store,
            config,
            clock=clock,
            lanes=WebhookLanes(db),
            node_id=node_id,
            lease=lease,
        )
        self.events.recorded = self.worker.wake

    def deliveries(
        self,
        account_id: str,
        status: DeliveryStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[OutboxEvent], int]:
        """A page of the account's events (newest first, with their attempts) and the
        total: what `GET /api/webhooks/deliveries` and the console show."""
        return self.store.listing(account_id, status, limit, offset)

    def backlog(self) -> int:
        """Events not delivered yet, all accounts (a metric)."""
        return self.store.backlog()

    async def start(self) -> None:
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
