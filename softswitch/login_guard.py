"""Failed API logins throttled per source address (a ban) and per account (a slow-down).

A source address that fails `failures_per_source` times within the window is refused
(`Throttled`, HTTP 429 with Retry-After) for `ban_seconds`, whatever account it names.
An account named in `failures_per_account` failures within the window, from anywhere, is
not locked: every further try on it waits its turn, one try per `account_delay_ms`, so
guesses at it from many addresses together go no faster than that, while its owner,
from an address that is not banned, still gets in after at most a short wait. At most
`MAX_WAITING` tries wait on one account; more are refused with Retry-After.

Accounts are counted by the name the client sent, known or not: the throttle answers an
unknown name exactly as it answers a real one, so it tells nobody which names exist.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .throttle import FailureThrottle

log = logging.getLogger("softswitch.login_guard")

MAX_WAITING = 16  # tries queued on one slowed account; each holds an HTTP connection


class Throttled(Exception):
    """A login refused before its credentials are checked; retry after `retry_after` s."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins: retry after {retry_after:.0f} s")
        self.retry_after = max(1, math.ceil(retry_after))


@dataclass(slots=True)
class LoginLimits:
    failures_per_source: int = 20  # 0 = no per-source ban
    failures_per_account: int = 10  # 0 = no per-account slow-down
    window: float = 60.0
    ban: float = 300.0
    account_delay: float = 1.0


@dataclass(slots=True)
class _Queue:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


class LoginGuard:
    """One per application; shared by every API whose clients present a secret."""

    def __init__(
        self, limits: LoginLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits = limits or LoginLimits()
        self.sources = FailureThrottle(
            limits.failures_per_source, limits.window, limits.ban, clock=clock
        )
        # an account is never banned (that would hand any attacker a lock-out switch):
        # `over` slows it down for as long as its failures stay in the window
        self.accounts = FailureThrottle(
            limits.failures_per_account, limits.window, 0.0, clock=clock
        )
        self._queues: dict[str, _Queue] = {}

    async def admit(self, source: str, account: str) -> None:
        """Return when a login by ``source`` as ``account`` may be checked; else Throttled."""
        left = self.sources.blocked_for(source)
        if left > 0:
            raise Throttled(left)
        if not self.accounts.over(account):
            return
        queue = self._queues.get(account)
        if queue is None:
            queue = self._queues[account] = _Queue()
        if queue.waiting >= MAX_WAITING:
            raise Throttled(self.limits.account_delay * queue.waiting)
        queue.waiting += 1
        try:
            # the lock is held through the pause only: tries start one per delay
            async with queue.lock:
                await asyncio.sleep(self.limits.account_delay)
        finally:
            queue.waiting -= 1
            if queue.waiting == 0:
                del self._queues[account]
        left = self.sources.blocked_for(source)  # banned while it waited
        if left > 0:
            raise Throttled(left)

    def failed(self, source: str, account: str) -> None:
        # banned sources are refused before they can fail again: one line per ban
        if self.sources.failed(source):
            log.warning(
                "API logins from %s refused for %.0f s: %d failures (last as %r)",
                source,
                self.limits.ban,
                self.limits.failures_per_source,
                account,
            )
        self.accounts.failed(account)
