"""What inbound SIP TCP/TLS connections may cost: caps and idle timeouts.

Every accepted connection holds a descriptor. Without a cap, a few thousand idle
connections from a scanner exhaust the process's open-file limit, and then `/health`,
the HTTP API, RTP sockets and honest phones fail with it. So (as Kamailio's
tcp_max_connections and tcp_connection_lifetime do):

- connections beyond ``max_connections`` in all, or ``max_per_source`` from one
  address, are aborted as they are accepted (no descriptor kept beyond that instant),
  with one log line per source per ``LOG_INTERVAL``, not one per connection;
- ``max_connections`` is clipped at start to half the soft open-file limit, so the rest
  stays for the HTTP listener, RTP sockets and the store whatever the SIP side holds;
- a connection that has not completed a message within ``message_timeout`` seconds
  of opening, or of the first byte of a message it has not finished, is closed
  (slowloris, half-sent garbage, a port scanner's silent connect);
- a connection that has sent nothing at all (not even a CRLF pong) for
  ``idle_timeout`` seconds is closed, unless the switch says it is still in use (a
  registration's flow: the phone is reached through it and keeps it while it lives).

Connections we opened (to a trunk, to a phone's address) are ours and are neither
counted nor timed out here.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("softswitch.sip.transport")

LOG_INTERVAL = 60.0  # seconds between two "refused" log lines about one source
# the sweep looks at each connection at least this often, and at most ...
SWEEP_MAX = 5.0
SWEEP_MIN = 0.2


@dataclass(slots=True, frozen=True)
class ConnectionLimits:
    """The caps and timeouts; ``[sip_connections]`` in the configuration."""

    max_connections: int = 2048
    max_per_source: int = 128
    message_timeout: float = 20.0
    idle_timeout: float = 300.0

    def __post_init__(self) -> None:
        if self.max_connections < 1 or self.max_per_source < 1:
            raise ValueError("connection caps must be at least 1")
        if self.message_timeout <= 0 or self.idle_timeout <= 0:
            raise ValueError("connection timeouts must be positive")

    @property
    def sweep_interval(self) -> float:
        """How often the sweep runs: a quarter of the shorter timeout, within bounds."""
        shortest = min(self.message_timeout, self.idle_timeout)
        return max(SWEEP_MIN, min(SWEEP_MAX, shortest / 4))


def descriptor_budget(limit: int) -> int:
    """``limit`` clipped to half the soft open-file limit (the rest is for others)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limit
    return max(1, min(limit, soft // 2))


# What the owner says about connections past their idle timeout: the peers of those
# still in use (a live registration's flow), given (transport, host, port) keys.
InUse = Callable[[list[tuple[str, str, int]]], set[tuple[str, str, int]]]


class ConnectionGuard:
    """The admission counts of inbound connections and the refusal log's throttle."""

    def __init__(self, limits: ConnectionLimits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.max_connections = limits.max_connections
        self.clock = clock
        self.open: Counter[str] = Counter()  # admitted connections per source address
        self.total = 0
        self.refused = 0  # connections aborted at accept, since start
        self.timed_out = 0  # connections closed by the timeouts, since start
        self._logged: dict[str, tuple[float, int]] = {}  # source -> (logged at, refused since)

    def fit_open_files(self) -> None:
        """Clip the cap to half the open-file limit in force now (at start, after the
        process has raised its own)."""
        self.max_connections = descriptor_budget(self.limits.max_connections)
        if self.max_connections < self.limits.max_connections:
            log.info(
                "SIP connections capped at %d (half the open-file limit), not %d",
                self.max_connections,
                self.limits.max_connections,
            )

    def admit(self, source: str) -> bool:
        """Count a new connection from ``source`` in, or say it must be refused."""
        if self.total >= self.max_connections or self.open[source] >= self.limits.max_per_source:
            self.refused += 1
            self._log_refusal(source)
            return False
        self.open[source] += 1
        self.total += 1
        return True

    def release(self, source: str) -> None:
        """An admitted connection from ``source`` closed."""
        self.total -= 1
        left = self.open[source] - 1
        if left > 0:
            self.open[source] = left
        else:
            del self.open[source]

    def _log_refusal(self, source: str) -> None:
        now = self.clock()
        last = self._logged.get(source)
        if last is not None and now - last[0] < LOG_INTERVAL:
            self._logged[source] = (last[0], last[1] + 1)
            return
        if len(self._logged) > 4 * self.limits.max_per_source + 1024:
            # a flood from many addresses: forget the old entries, keep the dict bounded
            self._logged = {s: e for s, e in self._logged.items() if now - e[0] < LOG_INTERVAL}
        more = f" ({last[1]} more refused since the last line)" if last and last[1] else ""
        self._logged[source] = (now, 0)
        why = (
            f"{self.total} open in all"
            if self.total >= self.max_connections
            else f"{self.open[source]} open from it"
        )
        log.warning("SIP connection from %s refused: %s%s", source, why, more)
