"""What happens to call legs, counted as it happens: hang-ups by direction and cause,
setup time (INVITE to answer), and each ended leg's RTP counters.

A leg's RTP counters are added here once, at hang-up (one `RtpSession.counters()`
per leg); the legs still live are read at scrape time by the collector, so the totals stay
monotonic without any per-packet work.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from ..channel import ChannelEvent, ChannelState, Registry

# a cause names the reason in words; some carry details ("failure: timed out"): only the
# words before the colon are a label, and a bounded number of them (a label per distinct
# exception text would grow the scrape without end)
MAX_CAUSES = 64
OTHER_CAUSE = "other"

SETUP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)
JITTER_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2)


@dataclass(slots=True)
class RtpTotals:
    """RTP counters summed over legs."""

    packets_received: int = 0
    packets_sent: int = 0
    lost: int = 0
    late: int = 0

    def add(self, counters: tuple[int, int, int, int, float]) -> None:
        """One leg's `RtpSession.counters()`."""
        received, sent, lost, late, _ = counters
        self.packets_received += received
        self.packets_sent += sent
        # duplicates can make RFC 3550's cumulative loss negative: no loss, then
        self.lost += max(0, lost)
        self.late += late


def cause_label(cause: str, seen: set[str]) -> str:
    label = cause.split(":", 1)[0].strip() or "unknown"
    if label in seen:
        return label
    if len(seen) >= MAX_CAUSES:
        return OTHER_CAUSE
    seen.add(label)
    return label


class CallMetrics:
    """Watches every channel the switch's registry gets."""

    def __init__(self, channels: Registry, registry: CollectorRegistry) -> None:
        self.calls_total = Counter(
            "softswitch_calls",
            "Call legs ended, by direction (inbound: they called us) and hang-up cause",
            ["direction", "cause"],
            registry=registry,
        )
        self.setup_seconds = Histogram(
            "softswitch_call_setup_seconds",
            "From a leg's INVITE (received or sent) to its answer",
            ["direction"],
            buckets=SETUP_BUCKETS,
            registry=registry,
        )
        self.jitter_seconds = Histogram(
            "softswitch_rtp_jitter_seconds",
            "Interarrival jitter (RFC 3550) of each ended leg that received RTP, at hang-up",
            buckets=JITTER_BUCKETS,
            registry=registry,
        )
        self.ended_rtp = RtpTotals()
        self._causes: set[str] = set()
        channels.observers.append(self._on_event)

    def _on_event(self, event: ChannelEvent) -> None:
        channel = event.channel
        if event.state == ChannelState.UP and channel.answered_at is not None:
            setup = max(0.0, channel.answered_at - channel.created_at)
            self.setup_seconds.labels(channel.direction.value).observe(setup)
        elif event.state == ChannelState.HUNGUP:
            cause = cause_label(event.cause or channel.cause, self._causes)
            self.calls_total.labels(channel.direction.value, cause).inc()
            counters = channel.rtp.counters()
            self.ended_rtp.add(counters)
            if counters[0]:  # a leg that received RTP has a jitter to tell
                self.jitter_seconds.observe(counters[4] / 1000.0)
