"""What the route handlers may use: the switch and the services built on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from media.engines import EngineStatus
    from media.tts import Tts
    from softswitch.calls import CallService
    from softswitch.campaigns.dialer import Dialer
    from softswitch.config import Config
    from softswitch.metrics.registry import Metrics
    from softswitch.store import Store
    from softswitch.switch import Switch
    from softswitch.webhooks.service import Webhooks


@dataclass(slots=True)
class AppContext:
    switch: Switch
    calls: CallService
    tts: Tts
    dialer: Dialer | None = None
    engines: Sequence[EngineStatus] = ()  # the speech engines as checked at start-up
    metrics: Metrics | None = None  # None: [metrics] is off
    webhooks: Webhooks | None = None  # None: /api/webhooks answers 503

    @property
    def store(self) -> Store:
        return self.switch.store

    @property
    def config(self) -> Config:
        return self.switch.config
