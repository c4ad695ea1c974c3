"""The media clock: one asyncio task that ticks every 20 ms and drives every session.

Deadlines are absolute (start + n * interval on the loop's monotonic clock),
so a slow callback or a late wake-up does not shift later ticks: there is no
cumulative drift. When the loop falls more than `max_late` ticks behind (a
blocked loop, a GC pause), the missed ticks are skipped rather than run in a
burst, and `tick_no` jumps accordingly so it always tracks real time.

A callback that raises is logged once, with its traceback, the first time;
later failures of the same callback are only counted (a broken call would
otherwise log fifty tracebacks a second), and a summary with the count is
logged when the callback is removed or the clock stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from media.pcm import FRAME_SECONDS

__all__ = ["MediaClock", "TickCallback"]

log = logging.getLogger(__name__)

TickCallback = Callable[[int], object]


class MediaClock:
    def __init__(self, interval: float = FRAME_SECONDS, *, max_late: int = 3) -> None:
        self.interval = interval
        self.max_late = max_late
        self.tick_no = 0  # number of the next (or current) tick since start()
        self.skipped = 0  # ticks skipped because the loop was too late
        self.errors = 0  # callback exceptions, all callbacks together
        self._faults: dict[TickCallback, int] = {}  # failing callback -> failures so far
        self._callbacks: dict[TickCallback, None] = {}  # insertion-ordered set
        self._snapshot: tuple[TickCallback, ...] = ()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def add(self, callback: TickCallback) -> None:
        """Call `callback(tick_no)` on every tick from the next one on."""
        self._callbacks[callback] = None
        self._snapshot = tuple(self._callbacks)

    def remove(self, callback: TickCallback) -> None:
        """Stop calling `callback` (no error if it was not added)."""
        if self._callbacks.pop(callback, 0) is None:
            self._snapshot = tuple(self._callbacks)
        if self._faults:
            self._summarize(callback)

    def faults(self, callback: TickCallback) -> int:
        """How many ticks `callback` has failed on (0 once it is removed and summarized)."""
        return self._faults.get(callback, 0)

    def _fault(self, callback: TickCallback, tick: int) -> None:
        self.errors += 1
        count = self._faults.get(callback, 0) + 1
        self._faults[callback] = count
        if count == 1:
            log.exception(
                "media clock callback %r failed on tick %d (repeats are counted, not logged)",
                callback,
                tick,
            )

    def _summarize(self, callback: TickCallback) -> None:
        count = self._faults.pop(callback, 0)
        if count > 1:
            log.error("media clock callback %r failed on %d ticks in all", callback, count)

    def __len__(self) -> int:
        return len(self._callbacks)

    def start(self) -> None:
        """Start ticking on the running loop (no-op if already running)."""
        if self.running:
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="media-clock")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for callback in list(self._faults):
            self._summarize(callback)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.interval
        start = loop.time()
        tick = 0
        while True:
            deadline = start + tick * interval
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                behind = int(-delay / interval)
                if behind > self.max_late:
                    # Too late to catch up without a burst of frames: jump to now.
                    tick += behind
                    self.skipped += behind
            self.tick_no = tick
            for callback in self._snapshot:
                try:
                    callback(tick)
                except Exception:
                    self._fault(callback, tick)
            tick += 1
            self.tick_no = tick
            if delay <= 0:
                # Let other tasks (and datagram callbacks) run between catch-up ticks.
                await asyncio.sleep(0)
