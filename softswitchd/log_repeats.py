"""A logging filter that bounds repeated lines: a flood must not grow the log per packet.

Records are keyed by logger and message template (``record.msg`` before its arguments
are filled in), so "malformed message from %s: %s" from a thousand sources is one key.
Each key may log ``burst`` times per ``interval`` seconds; the rest are dropped and
counted, and the first record of the key after the interval says how many were.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

MAX_KEYS = 4096  # templates tracked at once; the table starts over beyond


class RepeatFilter(logging.Filter):
    def __init__(
        self,
        burst: int = 20,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.interval = interval
        self.clock = clock
        # (logger, template) -> [window start, logged, suppressed]
        self._seen: dict[tuple[str, object], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        now = self.clock()
        seen = self._seen.get(key)
        if seen is None or now - seen[0] >= self.interval:
            suppressed = int(seen[2]) if seen is not None else 0
            if seen is None and len(self._seen) >= MAX_KEYS:
                self._seen.clear()
            self._seen[key] = [now, 1.0, 0.0]
            if suppressed:
                record.msg = f"{record.msg} (suppressed {suppressed} similar lines)"
            return True
        if seen[1] < self.burst:
            seen[1] += 1
            return True
        seen[2] += 1
        return False
