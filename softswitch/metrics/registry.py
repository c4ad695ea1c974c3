"""One switch process's metrics: its own registry, the call counters, the collector of
live state and the API's latency histogram, rendered in Prometheus' text format."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from .calls import CallMetrics
from .collector import SwitchCollector

if TYPE_CHECKING:
    from ..campaigns.dialer import Dialer
    from ..switch import Switch

# The classic text format, which every Prometheus (and every scraper) reads; the names
# here need none of the newer format's escaping, so the body is the same either way.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
API_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self, switch: Switch, dialer: Dialer | None = None) -> None:
        self.registry = CollectorRegistry()
        self.calls = CallMetrics(switch.channels, self.registry)
        self.collector = SwitchCollector(switch, self.calls, dialer)
        self.registry.register(self.collector)
        self.api_seconds = Histogram(
            "softswitch_api_request_duration_seconds",
            "HTTP API requests, by method, route template and status class",
            ["method", "route", "status"],
            buckets=API_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format (version 0.0.4)."""
        started = time.perf_counter()
        body = generate_latest(self.registry)
        # shown by the next scrape: what a scrape costs the event loop, apart from the
        # wait for it that a client measures
        self.collector.last_render_seconds = time.perf_counter() - started
        return body
