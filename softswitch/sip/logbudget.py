"""A budget for log records that traffic can trigger at will.

A bug that one request can hit, a scanner can hit a thousand times a second: each
failure is still answered, but only the first few per window are logged in full and
the rest are counted and reported with the next record that is let through.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["LogBudget"]


class LogBudget:
    """At most ``burst`` records per ``window`` seconds."""

    def __init__(
        self, burst: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.window = window
        self.clock = clock
        self._start = clock()
        self._used = 0
        self._dropped = 0

    def take(self) -> tuple[bool, int]:
        """(whether to log this record, how many were dropped since the last one logged)."""
        now = self.clock()
        if now - self._start >= self.window:
            self._start = now
            self._used = 0
        if self._used >= self.burst:
            self._dropped += 1
            return False, 0
        self._used += 1
        dropped, self._dropped = self._dropped, 0
        return True, dropped
