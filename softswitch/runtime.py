"""Everything one switch process runs, built from the config and started in order.

The server (`softswitch serve`) and the end-to-end tests both use this, so a test
exercises exactly what production wires together.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from media.recorder import repair_directory
from media.tts import Tts

from .calls import CallService
from .config import Config
from .store import Store
from .store.cdrs import CdrStore
from .switch import Switch

log = logging.getLogger("softswitch.runtime")


class Runtime:
    def __init__(self, config: Config, announce: Callable[[str], None] = print,
                 **switch_kwargs) -> None:
        self.config = config
        self.store = Store(config.store.path)
        self.switch = Switch(config, self.store, announce=announce, **switch_kwargs)
        media = config.media
        self.tts = Tts(Path(media.prompts_dir), engine=media.tts_engine)
        self.cdrs = CdrStore(self.switch.store.db)
        self.calls = CallService(self.switch, self.tts, self.cdrs,
                                 recordings_dir=media.recordings_dir,
                                 uploads_dir=media.uploads_dir,
                                 transcriber_name=media.transcriber)

    def api_context(self):
        from api.context import AppContext  # the API layer sits above the switch

        return AppContext(switch=self.switch, calls=self.calls, tts=self.tts)

    async def start(self) -> None:
        # A recording cut short by a crash gets its WAV header fixed before anyone reads it.
        repaired = repair_directory(Path(self.config.media.recordings_dir))
        if repaired:
            log.info("repaired %d recording(s) after an unclean stop", len(repaired))
        await self.switch.start()

    async def stop(self) -> None:
        await self.switch.stop()  # BYE to every live call
        await self.calls.stop()  # their CDRs get written
        self.store.close()
