"""The delivery worker: posts the outbox's events to each account's status_callback.

Each account with events waiting gets a lane (one task): it sends the account's oldest
pending event, and the next only once that one is delivered or has failed for good, so
a receiver sees an account's events (and so each call's) in the order they happened.
Lanes run side by side: a receiver that answers 500 or hangs holds up its own account
only. A failed attempt is retried after an exponential back-off ([webhooks] in the
config) until ``retry_for`` seconds after the event; every attempt is kept in the store.

The outbox is the store, so whatever was pending when the process stopped (or was
killed) goes out after the next start: delivery is at least once, receivers
de-duplicate on the event's id. Several nodes on one store: a lane runs on the node
that holds the account's lease (`store/webhook_lanes.py`), so each event goes out once
from one node; the lanes of a node that died move to another after the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from ..config import WebhooksConfig
from ..store.webhook_lanes import WebhookLanes
from ..store.webhooks import Attempt, DeliveryStatus, OutboxEvent, WebhookStore
from .signing import HEADER, header_value

log = logging.getLogger("softswitch.webhooks")

BATCH = 100  # events a lane reads from the store at once
MAX_RESPONSE = 64 * 1024  # of a receiver's answer, read (to reuse the connection), ignored
USER_AGENT = "softswitch-webhooks/1"
POOL_IDLE = 60.0  # seconds an account's idle keep-alive connection stays open
PURGE_EVERY = 3600.0  # seconds between purges of old settled events
PURGE_CHUNK = 2000  # events forgotten per pass (one short transaction)


def backoff(config: WebhooksConfig, attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    first = config.backoff_first_ms / 1000.0
    return float(min(first * 2.0 ** min(attempts - 1, 60), config.backoff_max))


class DeliveryWorker:
    def __init__(
        self,
        store: WebhookStore,
        config: WebhooksConfig,
        *,
        clock: Callable[[], float] = time.time,
        poll: float = 1.0,
        lanes: WebhookLanes | None = None,
        node_id: str = "local",
        lease: float = 30.0,
    ) -> None:
        self.store = store
        # with several nodes on the store: who delivers which account (None: this one all)
        self.lanes = lanes
        self.node_id = node_id
        self.lease = lease
        self.config = config
        self.clock = clock
        self.poll = poll
        self.timeout = config.timeout_ms / 1000.0
        self._lanes: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(config.max_concurrent)
        # one connection pool per account: its lane's keep-alive connection (httpcore
        # checks every connection of a pool on each request: one pool for all would cost
        # O(accounts) per delivery), and (pool, last used) to close idle ones
        self._pools: dict[str, tuple[httpx.AsyncHTTPTransport, float]] = {}
        self._timeouts = httpx.Timeout(self.timeout).as_dict()
        self._task: asyncio.Task[Any] | None = None
        self._kick = asyncio.Event()
        self._purged_at = 0.0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="webhooks")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._lanes.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        await self._close_pools(idle_for=0.0)

    def _pool(self, account_id: str) -> httpx.AsyncHTTPTransport:
        # httpx's transport without its client: no redirects (one could lead anywhere, the
        # switch included), no cookie jar (a receiver's cookies would go to other
        # accounts' receivers on that host), no proxies from the environment, and a
        # quarter less CPU per delivery (BENCHMARKS.md)
        found = self._pools.get(account_id)
        pool = found[0] if found is not None else None
        if pool is None:
            pool = httpx.AsyncHTTPTransport(
                limits=httpx.Limits(
                    max_connections=1, max_keepalive_connections=1, keepalive_expiry=POOL_IDLE
                )
            )
        self._pools[account_id] = (pool, time.monotonic())
        return pool

    async def _close_pools(self, idle_for: float) -> None:
        now = time.monotonic()
        for account_id, (pool, used) in list(self._pools.items()):
            if now - used >= idle_for and account_id not in self._lanes:
                del self._pools[account_id]
                with contextlib.suppress(Exception):
                    await pool.aclose()

    def wake(self, account_id: str) -> None:
        """An event of ``account_id`` was recorded: its lane starts unless it runs (a
        running lane reads the store again before it ends)."""
        if account_id not in self._lanes:
            self._kick.set()

    def busy(self) -> int:
        """Accounts being delivered to now."""
        return len(self._lanes)

    async def _watch(self) -> None:
        while True:
            self._kick.clear()
            try:
                now = self.clock()
                if self.lanes is not None and self._lanes:
                    self.lanes.renew(self.node_id, list(self._lanes), now + self.lease)
                for account_id in self.store.pending_accounts():
                    if account_id not in self._lanes and self._take(account_id, now):
                        self._lanes[account_id] = asyncio.create_task(
                            self._lane(account_id), name=f"webhooks {account_id}"
                        )
                self._purge()
                await self._close_pools(idle_for=POOL_IDLE)
            except Exception:  # a store hiccup must not end deliveries for good
                log.exception("webhook delivery pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.poll)

    def _take(self, account_id: str, now: float) -> bool:
        """May this node open the account's lane (no other node runs it)?"""
        if self.lanes is None:
            return True
        return self.lanes.take(account_id, self.node_id, now, now + self.lease)

    def _still_ours(self, account_id: str) -> bool:
        """Renewed before each batch: False once another node took the lane over (this
        node's renewals failed for a whole lease)."""
        if self.lanes is None:
            return True
        expires_at = self.clock() + self.lease
        return self.lanes.renew(self.node_id, [account_id], expires_at) == 1

    def _purge(self) -> None:
        """Forget settled events past ``keep_days``: one bounded chunk per pass, so a
        large purge never holds the loop; hourly once nothing is left."""
        now = self.clock()
        if now - self._purged_at < PURGE_EVERY:
            return
        removed = self.store.purge(now - self.config.keep_days * 86_400, PURGE_CHUNK)
        if removed < PURGE_CHUNK:
            self._purged_at = now
        if removed:
            log.info("webhooks: forgot %d settled event(s) past keep_days", removed)

    async def _lane(self, account_id: str) -> None:
        try:
            while True:
                if not self._still_ours(account_id):
                    log.warning("webhook lane of %s was taken over by another node", account_id)
                    return
                batch = self.store.next_pending(account_id, BATCH)
                if not batch:
                    return  # nothing between this read and leaving: no event is missed
                for event in batch:
                    delay = event.next_attempt_at - self.clock()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if not await self.deliver(event):
                        break  # retried later: read the lane again after its back-off
        except Exception:
            log.exception("webhook lane of %s failed", account_id)
        finally:
            self._lanes.pop(account_id, None)
            if self.lanes is not None:
                with contextlib.suppress(Exception):  # expires by itself otherwise
                    self.lanes.release(account_id, self.node_id)

    async def deliver(self, event: OutboxEvent) -> bool:
        """One attempt at ``event``; True when it is settled (delivered or failed)."""
        now = self.clock()
        settings = self.store.settings(event.account_id)
        if settings is None or not settings.url:
            self.store.give_up(event, now, "the account has no status_callback any more")
            return True
        body = event.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            HEADER: header_value(settings.secret, int(now), body),
            "Softswitch-Event-Id": event.id,
            "Softswitch-Event-Type": event.type,
        }
        started = time.monotonic()
        status_code, error = await self._post(
            self._pool(event.account_id), settings.url, body, headers
        )
        duration = time.monotonic() - started
        number = event.attempts + 1
        if not error:
            status, next_at = DeliveryStatus.DELIVERED, now
        else:
            next_at = now + duration + backoff(self.config, number)
            expired = next_at > event.created_at + self.config.retry_for
            status = DeliveryStatus.FAILED if expired else DeliveryStatus.PENDING
            log.info(
                "webhook %s to %s: attempt %d failed (%s)%s",
                event.id,
                settings.url,
                number,
                error,
                ", giving up" if expired else "",
            )
        self.store.record_attempt(
            event, Attempt(number, now, status_code, error, round(duration, 4)), status, next_at
        )
        return status is not DeliveryStatus.PENDING

    async def _post(
        self, pool: httpx.AsyncHTTPTransport, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str]:
        """(HTTP status or None, "" when delivered or what went wrong)."""
        request = httpx.Request(
            "POST", url, content=body, headers=headers, extensions={"timeout": self._timeouts}
        )
        try:
            async with self._slots, asyncio.timeout(self.timeout):
                r = await pool.handle_async_request(request)
                try:
                    read = 0
                    async for chunk in r.aiter_raw():
                        read += len(chunk)
                        if read > MAX_RESPONSE:
                            break
                finally:
                    await r.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return None, f"no answer within {self.timeout:g} s"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if 200 <= r.status_code < 300:
            return r.status_code, ""
        return r.status_code, f"HTTP {r.status_code}"
