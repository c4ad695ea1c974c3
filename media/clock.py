"""The media clock: one asyncio task that ticks every 20 ms and drives every session.

Deadlines are absolute (start + n * interval on the loop's monotonic clock),
so a slow callback or a late wake-up does not shift later ticks: there is no
cumulative drift. When the loop falls more than `max_late` ticks behind (a
blocked loop, a GC pause), the missed ticks are skipped rather than run in a
burst, and `tick_no` jumps accordingly so it always tracks real time.
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
        self.errors = 0  # callback exceptions logged
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
                    self.errors += 1
                    log.exception("media clock callback %r failed on tick %d", callback, tick)
            tick += 1
            self.tick_no = tick
            if delay <= 0:
                # Let other tasks (and datagram callbacks) run between catch-up ticks.
                await asyncio.sleep(0)
