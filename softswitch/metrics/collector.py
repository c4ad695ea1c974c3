"""The gauges (and the counters of live legs) read at scrape time, from the switch and
the dialer as they are: nothing is kept in step with them between scrapes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..campaigns.model import CampaignStatus
from ..channel import Direction
from ..trunk import TrunkState
from ..trunk_keepalive import CarrierState
from .calls import CallMetrics, RtpTotals

if TYPE_CHECKING:
    from ..campaigns.dialer import Dialer
    from ..switch import Switch

# campaigns whose queue is worth a series: those the dialer may still dial from
_DIALING = (CampaignStatus.PLANNED, CampaignStatus.IN_PROCESS, CampaignStatus.PAUSED)


class SwitchCollector(Collector):
    def __init__(self, switch: Switch, calls: CallMetrics, dialer: Dialer | None = None) -> None:
        self.switch = switch
        self.calls = calls
        self.dialer = dialer
        # the webhook outbox's undelivered events, when there is an outbox: whoever builds
        # it sets this (softswitchd.runtime); no series while it is None
        self.webhook_backlog: Callable[[], int] | None = None
        self.last_render_seconds = 0.0  # set by registry.Metrics.render

    def describe(self) -> Iterator[Metric]:
        return iter(())  # names are not checked against other collectors at register()

    def collect(self) -> Iterator[Metric]:
        yield from self._calls()
        yield from self._registrations()
        yield from self._trunks()
        if self.dialer is not None:
            yield from self._dialer(self.dialer)
        if self.webhook_backlog is not None:
            backlog = GaugeMetricFamily(
                "softswitch_webhook_backlog", "Webhook events not delivered yet (the outbox)"
            )
            backlog.add_metric([], self.webhook_backlog())
            yield backlog
        yield GaugeMetricFamily(
            "softswitch_metrics_render_seconds",
            "How long the previous scrape took to gather and format (the loop's time)",
            value=self.last_render_seconds,
        )

    def _calls(self) -> Iterator[Metric]:
        active = dict.fromkeys(Direction, 0)
        bridged = 0
        live = RtpTotals()
        jitter = 0.0
        for channel in self.switch.channels.channels.values():
            active[channel.direction] += 1
            if channel.bridged is not None:
                bridged += 1
            counters = channel.rtp.counters()
            live.add(counters)
            jitter = max(jitter, counters[4])
        family = GaugeMetricFamily(
            "softswitch_calls_active",
            "Call legs up or being set up, by direction (a call between two phones is one"
            " inbound and one outbound leg)",
            labels=["direction"],
        )
        for direction, count in active.items():
            family.add_metric([direction.value], count)
        yield family
        yield GaugeMetricFamily(
            "softswitch_bridged_calls_active",
            "Conversations: pairs of legs bridged to each other",
            value=bridged // 2,
        )
        ended = self.calls.ended_rtp
        for name, text, value in (
            ("packets_received", "RTP packets received", "packets_received"),
            ("packets_sent", "RTP packets sent", "packets_sent"),
            ("packets_lost", "RTP packets lost (RFC 3550 cumulative loss)", "lost"),
            ("late_packets", "RTP packets that came after their playout time", "late"),
        ):
            yield CounterMetricFamily(
                f"softswitch_rtp_{name}",
                f"{text}, all legs (ended and live)",
                value=getattr(ended, value) + getattr(live, value),
            )
        yield GaugeMetricFamily(
            "softswitch_rtp_live_jitter_max_seconds",
            "The largest interarrival jitter among the live legs",
            value=jitter / 1000.0,
        )

    def _registrations(self) -> Iterator[Metric]:
        counts: dict[str, int] = {}
        for transport, count in self.switch.store.binding_counts().items():
            # the lower case the admin API shows ("UDP" in the store, as on the wire)
            counts[transport.lower()] = counts.get(transport.lower(), 0) + count
        family = GaugeMetricFamily(
            "softswitch_registrations",
            "Unexpired registrations (bindings) of extensions, by transport",
            labels=["transport"],
        )
        for transport in sorted({"udp", "tcp", "tls", *counts}):
            family.add_metric([transport], counts.get(transport, 0))
        yield family

    def _trunks(self) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "softswitch_trunk_state",
            "1 for the state each trunk's registration is in, 0 for the others",
            labels=["trunk", "state"],
        )
        carrier = GaugeMetricFamily(
            "softswitch_trunk_carrier_state",
            "1 for what the OPTIONS pings say of each trunk's carrier, 0 for the others",
            labels=["trunk", "state"],
        )
        for trunk in self.switch.trunks:
            for value in TrunkState:
                state.add_metric([trunk.name, value.value], trunk.status.state == value)
            for ping in CarrierState:
                carrier.add_metric([trunk.name, ping.value], trunk.keepalive.state == ping)
        yield state
        yield carrier

    def _dialer(self, dialer: Dialer) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "softswitch_dialer_queue_depth",
            "Jobs of a campaign waiting to be dialed (planned or on retry)",
            labels=["campaign"],
        )
        active = GaugeMetricFamily(
            "softswitch_dialer_calls_active",
            "Campaign calls in progress",
            labels=["campaign"],
        )
        manager = dialer.manager
        for campaign in manager.campaigns.with_status(*_DIALING):
            depth.add_metric([campaign.id], manager.jobs.count_queued(campaign.id))
            active.add_metric([campaign.id], dialer.live(campaign.id))
        started = CounterMetricFamily(
            "softswitch_dialer_calls_started",
            "Campaign calls started (rate() of it is the dial rate)",
            labels=["campaign"],
        )
        for campaign_id, count in dialer.started.items():
            started.add_metric([campaign_id], count)
        yield depth
        yield active
        yield started
