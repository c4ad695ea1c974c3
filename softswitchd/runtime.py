"""Everything one switch process runs, built from the config and started in order.

The server (`softswitch serve`) and the end-to-end tests both use this, so a test
exercises exactly what production wires together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.context import AppContext
from media.engines import check_engines
from media.recorder import repair_directory
from media.tts import Tts
from softswitch.accounts import provision_accounts
from softswitch.callbacks import CallbackScheduler
from softswitch.calls import CallService
from softswitch.campaigns.dialer import Dialer
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.placer import CallServicePlacer, CdrRecovery
from softswitch.config import Config
from softswitch.metrics.registry import Metrics
from softswitch.store import Store
from softswitch.store.accounts import AccountStore
from softswitch.store.callbacks import CallbackStore
from softswitch.store.cdrs import CdrStore
from softswitch.switch import Switch
from softswitch.webhooks.service import Webhooks

log = logging.getLogger("softswitchd.runtime")


class Runtime:
    def __init__(
        self, config: Config, announce: Callable[[str], None] = print, **switch_kwargs: Any
    ) -> None:
        self.config = config
        self.announce = announce
        # this node's name in the store shared by a cluster's nodes
        self.node_id = config.node_id
        self.store = Store(config.store.database_url, pool_size=config.store.pool_size)
        media = config.media
        self.tts = Tts(Path(media.prompts_dir), engine=media.tts_engine)
        self.switch = Switch(config, self.store, announce=announce, tts=self.tts, **switch_kwargs)
        self.engines = check_engines(media.tts_engine, media.transcriber)
        self.cdrs = CdrStore(self.switch.store.db)
        self.webhooks = Webhooks(
            self.store.db,
            config.webhooks,
            config.api_host_port,
            node_id=self.node_id,
            lease=config.cluster.lease_seconds,
        )
        self.calls = CallService.configured(
            self.switch, self.tts, self.cdrs, events=self.webhooks.events
        )
        self.callbacks = CallbackScheduler(
            CallbackStore(self.store.db),
            self.calls.click2call,
            node_id=self.node_id,
            lease=config.cluster.lease_seconds,
        )
        self.campaigns = CampaignManager(self.store.db, events=self.webhooks.events)
        if self.switch.voicemail is not None:
            self.switch.voicemail.events = self.webhooks.events
        # a job caught mid-call by a crash is resolved from its CDR when one was written
        self.dialer = Dialer(
            self.campaigns,
            CallServicePlacer(self.calls),
            cdrs=self.cdrs,
            recover_outcome=CdrRecovery(self.cdrs),
            node_id=self.node_id,
            lease_seconds=config.cluster.lease_seconds,
            # campaigns started and leases lost on other nodes are seen this soon
            poll_interval=config.cluster.lease_seconds / 3,
        )
        # only when [metrics] asks: otherwise no channel gets the listener
        self.metrics = Metrics(self.switch, self.dialer) if config.metrics.enabled else None
        if self.metrics is not None:
            self.metrics.collector.webhook_backlog = self.webhooks.backlog

    def api_context(self) -> AppContext:
        return AppContext(
            switch=self.switch,
            calls=self.calls,
            tts=self.tts,
            dialer=self.dialer,
            engines=self.engines,
            metrics=self.metrics,
            webhooks=self.webhooks,
        )

    async def start(self) -> None:
        # A recording cut short by a crash gets its WAV header fixed before anyone reads it.
        repaired = repair_directory(Path(self.config.media.recordings_dir))
        if repaired:
            log.info("repaired %d recording(s) after an unclean stop", len(repaired))
        provision_accounts(AccountStore(self.store.db), self.config.accounts, self.announce)
        self._report_engines()
        await self.webhooks.start()  # what an earlier run left in the outbox goes out
        await self.switch.start()
        self.calls.start()
        await self.callbacks.start()
        await self.dialer.start()

    def _report_engines(self) -> None:
        # A feature without its engine would otherwise fail only later, inside a call's
        # background task (a prompt never spoken, a transcript never written).
        for status in self.engines:
            if status.ok:
                log.info("%s", status)
            else:
                log.warning("%s", status)
                self.announce(str(status))

    async def stop(self) -> None:
        # The dialer starts no new call from here on, and waits while the switch hangs up
        # the live ones so that their attempts are resolved and their CDRs written.
        dialer = asyncio.create_task(self.dialer.stop(grace=5))
        await asyncio.sleep(0)
        await self.callbacks.stop()
        await self.switch.stop()  # BYE to every live call
        await dialer
        await self.calls.stop()
        await self.webhooks.stop()  # what is not delivered yet stays in the outbox
        self.store.close()
