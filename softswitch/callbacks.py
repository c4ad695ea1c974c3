"""Fires scheduled callbacks (`/api/callback`) at their time, across restarts.

Callbacks live in the store, so a restart loses none. At start-up:
- a callback due while the switch was down runs at once if it is at most
  ``missed_after`` seconds late (default 15 minutes); an older one is marked ``missed``
  instead: ringing an agent and a customer hours after the agreed time does more harm
  than good, and the client sees the status (`GET /api/callback`);
- a callback caught between being claimed and being placed by a crash is marked
  ``failed``: whether its call went out is unknown, and calling twice is worse.

Several nodes may share the store: each callback is claimed by one scheduler (a
conditional UPDATE naming the node). A node's own claims still firing are settled at its
start as above; one left by another node is settled by any node once it is `lease`
seconds old (placing a call takes milliseconds: its node died).

While running, the scheduler sleeps until the next due time, but at most ``poll``
seconds, so callbacks created or moved through the API (or by another process sharing
the store) are seen within that time without any signalling.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .background import cancel_and_wait
from .store.callbacks import Callback, CallbackStatus, CallbackStore

log = logging.getLogger("softswitch.callbacks")

Click2Call = Callable[..., Awaitable[str]]


class CallbackScheduler:
    def __init__(
        self,
        store: CallbackStore,
        click2call: Click2Call,
        *,
        clock: Callable[[], float] = time.time,
        poll: float = 1.0,
        missed_after: float = 15 * 60,
        node_id: str = "local",
        lease: float = 30.0,
    ) -> None:
        self.store = store
        self.click2call = click2call
        self.clock = clock
        self.poll = poll
        self.missed_after = missed_after
        self.node_id = node_id
        self.lease = lease
        self._task: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        """Settle what a stop left behind, fire what is due, then keep watching."""
        now = self.clock()
        self.settle_stale(now, self.node_id)
        for request_id in self.store.mark_missed(now - self.missed_after):
            log.warning("callback %s was due while the switch was down: missed", request_id)
        await self.run_due()
        self._task = asyncio.create_task(self._watch(), name="callbacks")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def settle_stale(self, now: float, node: str | None = None) -> None:
        """Fail the callbacks a stopped or dead node claimed but never placed."""
        for request_id in self.store.stale_firing(now - self.lease, node):
            if self.store.fail_stale(request_id, "interrupted by a restart while being placed"):
                log.warning(
                    "callback %s was being placed when its switch stopped: failed", request_id
                )

    async def run_due(self) -> int:
        """Place every callback due now; returns how many this scheduler placed."""
        placed = 0
        while True:
            due = self.store.due(self.clock())
            if not due:
                return placed
            for callback in due:
                if await self._fire(callback):
                    placed += 1

    def delay(self) -> float:
        """Seconds to sleep before the next look."""
        next_due = self.store.next_due_at()
        if next_due is None:
            return self.poll
        return min(self.poll, max(0.0, next_due - self.clock()))

    async def _watch(self) -> None:
        while True:
            try:
                self.settle_stale(self.clock())
                await self.run_due()
            except Exception:  # a store hiccup must not end callbacks for good
                log.exception("callback scheduler pass failed")
            await asyncio.sleep(self.delay())

    async def _fire(self, cb: Callback) -> bool:
        if not self.store.claim(cb.request_id, self.clock(), self.node_id):
            return False  # deleted meanwhile, or another scheduler took it
        try:
            await self.click2call(
                account_id=cb.account_id,
                agent_number=cb.agent_number,
                destination_number=cb.destination_number,
                caller_id=cb.caller_id,
                recording_option=cb.recording_option,
                transcript=cb.transcript,
                request_id=cb.request_id,
            )
        except Exception as exc:  # no route any more, bad option: recorded, not raised
            self.store.finish(cb.request_id, CallbackStatus.FAILED, str(exc) or type(exc).__name__)
            log.warning("callback %s could not be placed: %s", cb.request_id, exc)
            return False
        self.store.finish(cb.request_id, CallbackStatus.DONE)
        log.info(
            "callback %s placed (%s -> %s)", cb.request_id, cb.agent_number, cb.destination_number
        )
        return True
