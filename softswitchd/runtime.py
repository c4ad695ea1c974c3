"""Everything one switch process runs, built from the config and started in order.

The server (`softswitch serve`) and the end-to-end tests both use this, so a test
exercises exactly what production wires together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from media.recorder import repair_directory
from media.tts import Tts

from .accounts import provision_accounts
from .callbacks import CallbackScheduler
from .calls import CallService
from .campaigns.dialer import Dialer
from .campaigns.manager import CampaignManager
from .campaigns.placer import CallServicePlacer, CdrRecovery
from .config import Config
from .store import Store
from .store.accounts import AccountStore
from .store.callbacks import CallbackStore
from .store.cdrs import CdrStore
from .switch import Switch

log = logging.getLogger("softswitch.runtime")


class Runtime:
    def __init__(
        self, config: Config, announce: Callable[[str], None] = print, **switch_kwargs
    ) -> None:
        self.config = config
        self.announce = announce
        self.store = Store(config.store.path)
        self.switch = Switch(config, self.store, announce=announce, **switch_kwargs)
        media = config.media
        self.tts = Tts(Path(media.prompts_dir), engine=media.tts_engine)
        self.cdrs = CdrStore(self.switch.store.db)
        self.calls = CallService(
            self.switch,
            self.tts,
            self.cdrs,
            recordings_dir=media.recordings_dir,
            uploads_dir=media.uploads_dir,
            transcriber_name=media.transcriber,
            stereo=media.stereo_recordings,
        )
        self.callbacks = CallbackScheduler(CallbackStore(self.store.db), self.calls.click2call)
        self.campaigns = CampaignManager(self.store.db)
        # a job caught mid-call by a crash is resolved from its CDR when one was written
        self.dialer = Dialer(
            self.campaigns,
            CallServicePlacer(self.calls),
            cdrs=self.cdrs,
            recover_outcome=CdrRecovery(self.cdrs),
        )

    def api_context(self):
        from api.context import AppContext  # the API layer sits above the switch

        return AppContext(switch=self.switch, calls=self.calls, tts=self.tts, dialer=self.dialer)

    async def start(self) -> None:
        # A recording cut short by a crash gets its WAV header fixed before anyone reads it.
        repaired = repair_directory(Path(self.config.media.recordings_dir))
        if repaired:
            log.info("repaired %d recording(s) after an unclean stop", len(repaired))
        provision_accounts(AccountStore(self.store.db), self.config.accounts, self.announce)
        await self.switch.start()
        await self.callbacks.start()
        await self.dialer.start()

    async def stop(self) -> None:
        # The dialer starts no new call from here on, and waits while the switch hangs up
        # the live ones so that their attempts are resolved and their CDRs written.
        dialer = asyncio.create_task(self.dialer.stop(grace=5))
        await asyncio.sleep(0)
        await self.callbacks.stop()
        await self.switch.stop()  # BYE to every live call
        await dialer
        await self.calls.stop()
        self.store.close()
