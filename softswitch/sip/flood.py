"""Per-source request rate limit and temporary bans for SIP over UDP (Kamailio's pike).

The transport asks :meth:`FloodGuard.admit` for every datagram before parsing it: a
source that sends more than ``rate`` datagrams in a one-second window is banned for
``ban_seconds``, and its datagrams are dropped for that long at the cost of one dict
lookup. A source that authenticated recently (a registered phone's flow, an office NAT
with many phones behind one address) is allowed ``trusted_rate``; an exempt source (a
trunk's configured address) is never banned. One log line per ban, none per packet.

This is a different thing from identity.AuthGuard, which bans an address after failed
authentications: this one counts packets, whatever they say.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("softswitch.sip.flood")

# Sources tracked at once; under a spray of (spoofed) sources the stale windows are
# swept, and if that is not enough the table starts over: memory stays bounded.
MAX_TRACKED = 65_536


@dataclass(slots=True)
class FloodLimits:
    """Datagrams per second per source address, and what happens beyond."""

    rate: int = 200  # an unknown source; 0 = no rate limit at all
    trusted_rate: int = 2_000  # a source that authenticated within trust_seconds
    ban_seconds: int = 60
    trust_seconds: int = 3_600


class FloodGuard:
    def __init__(
        self,
        limits: FloodLimits,
        exempt: Callable[[str, int], bool] = lambda host, port: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.exempt = exempt
        self.clock = clock
        # host -> [window start, datagrams in the window]
        self._windows: dict[str, list[float]] = {}
        self._banned: dict[str, float] = {}  # host -> ban end
        self._trusted: dict[str, float] = {}  # host -> trust end
        self.dropped = 0  # datagrams dropped from banned sources
        self.bans = 0

    def admit(self, host: str, port: int) -> bool:
        """May this datagram be parsed? False: drop it without a word."""
        now = self.clock()
        banned = self._banned
        if banned:
            until = banned.get(host)
            if until is not None:
                if now < until:
                    self.dropped += 1
                    return False
                del banned[host]
                log.info("flood: ban on %s expired", host)
        window = self._windows.get(host)
        if window is None or now - window[0] >= 1.0:
            if window is None and len(self._windows) >= MAX_TRACKED:
                self._sweep(now)
            self._windows[host] = [now, 1.0]
            return True
        window[1] += 1.0
        rate = self.limits.rate
        if window[1] <= rate or not rate:
            return True
        return self._over(host, port, window[1], now)

    def _over(self, host: str, port: int, count: float, now: float) -> bool:
        """Beyond the untrusted rate: trusted and exempt sources may go on."""
        trusted_until = self._trusted.get(host)
        if trusted_until is not None:
            if now < trusted_until:
                if count <= self.limits.trusted_rate:
                    return True
            else:
                del self._trusted[host]
        if self.exempt(host, port):
            return True
        self._ban(host, now, int(count))
        return False

    def _ban(self, host: str, now: float, count: int) -> None:
        self._banned[host] = now + self.limits.ban_seconds
        self._windows.pop(host, None)
        self.bans += 1
        self.dropped += 1
        log.warning(
            "flood: %s banned for %ds (more than %d requests in a second)",
            host,
            self.limits.ban_seconds,
            count - 1,
        )

    def _sweep(self, now: float) -> None:
        stale = [h for h, (start, _) in self._windows.items() if now - start >= 1.0]
        for host in stale:
            del self._windows[host]
        if len(self._windows) >= MAX_TRACKED:
            self._windows.clear()
        for table in (self._banned, self._trusted):
            if len(table) >= MAX_TRACKED:
                for host in [h for h, until in table.items() if until <= now]:
                    del table[host]
                if len(table) >= MAX_TRACKED:
                    table.clear()

    def trust(self, host: str) -> None:
        """``host`` just authenticated: it gets the trusted rate for trust_seconds (each
        registration refresh renews it)."""
        now = self.clock()
        if host not in self._trusted and len(self._trusted) >= MAX_TRACKED:
            self._sweep(now)
        self._trusted[host] = now + self.limits.trust_seconds

    def privileged(self, host: str, port: int) -> bool:
        """Trusted (authenticated recently) or exempt (a trunk)."""
        until = self._trusted.get(host)
        return (until is not None and self.clock() < until) or self.exempt(host, port)

    def banned(self, host: str) -> bool:
        until = self._banned.get(host)
        return until is not None and self.clock() < until

    @property
    def banned_sources(self) -> int:
        return len(self._banned)
