"""Failures counted per key (an address, an account name) in a window, with a ban.

Reusable by anything that refuses guesses: `FailureThrottle.blocked_for(key)` before the
costly check, `failed(key)` after a failed one. A key with `limit` failures within
`window` seconds is blocked for `ban` seconds. Memory is bounded: at most `max_keys` keys
are tracked, the least recently touched forgotten first (an attacker inventing keys
pushes out his own old ones as much as anyone's).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Record:
    window_start: float
    failures: int = 0
    blocked_until: float = 0.0


class FailureThrottle:
    def __init__(
        self,
        limit: int,
        window: float,
        ban: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``limit`` 0 turns the throttle off: nothing is counted, nothing blocked."""
        if limit < 0 or window <= 0 or ban < 0 or max_keys < 1:
            raise ValueError("limit >= 0, window > 0, ban >= 0, max_keys >= 1")
        self.limit = limit
        self.window = window
        self.ban = ban
        self.max_keys = max_keys
        self.clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def blocked_for(self, key: str) -> float:
        """Seconds ``key`` stays blocked (0.0: not blocked)."""
        record = self._records.get(key)
        if record is None:
            return 0.0
        left = record.blocked_until - self.clock()
        return left if left > 0 else 0.0

    def failures(self, key: str) -> int:
        """Failures of ``key`` in its current window."""
        record = self._records.get(key)
        if record is None or self.clock() - record.window_start >= self.window:
            return 0
        return record.failures

    def over(self, key: str) -> bool:
        """Has ``key`` reached the limit in its current window (or is it banned)?"""
        return self.limit > 0 and (self.failures(key) >= self.limit or self.blocked_for(key) > 0)

    def failed(self, key: str) -> bool:
        """Count one failure of ``key``; True when this one (or an earlier) blocked it."""
        if self.limit == 0:
            return False
        now = self.clock()
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = _Record(now)
            while len(self._records) > self.max_keys:
                self._records.popitem(last=False)
        else:
            self._records.move_to_end(key)
            if now - record.window_start >= self.window:
                record.window_start, record.failures = now, 0
        record.failures += 1
        if record.failures >= self.limit and record.blocked_until <= now:
            record.blocked_until = now + self.ban
        return record.blocked_until > now

    def clear(self, key: str) -> None:
        """Forget ``key``'s failures (a success ends the guessing it was counted for)."""
        self._records.pop(key, None)
