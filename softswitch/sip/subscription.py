"""The notifier's side of a subscription (RFC 6665): the dialog a SUBSCRIBE creates,
its expiry and refreshes, and the NOTIFYs sent in it.

What the NOTIFYs say (the event package's body) and who may subscribe is the
application's: it authenticates the SUBSCRIBE, then calls `accept()`. The subscription
answers 200 (RFC 6665 drops 202), and the application sends the initial NOTIFY at once
with `notify()`; a refresh gets 200 and a NOTIFY again, an unsubscribe (Expires: 0) or
the expiry a final NOTIFY with ``Subscription-State: terminated``. A NOTIFY answered
481, 408 or not at all ends the subscription (4.2.2).

A body is bytes, or a function of the NOTIFY's sequence number in the subscription
(0, 1, 2, ...) for packages whose documents carry a version (RFC 4235's dialog-info):
it is called as each NOTIFY goes out, the refresh's and the final one included.
`Subscriptions` keeps one package's live subscriptions per resource, bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator, Mapping
from enum import StrEnum
from typing import Any

from .dialog import Dialog
from .errors import SipError
from .message import Request, Response, new_tag
from .transaction import ServerTransaction
from .ua import UserAgent

log = logging.getLogger("softswitch.sip.subscription")

# a NOTIFY's answer that ends the subscription: the subscriber forgot it, or is gone
_FATAL = frozenset({404, 405, 408, 410, 416, 480, 481, 482, 483, 484, 485, 489, 501, 604})


# what a NOTIFY carries: the document, or how to write it given the NOTIFY's number
Body = bytes | Callable[[int], bytes]


class SubscriptionState(StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"


class SubscribeRefused(Exception):
    """A SUBSCRIBE to refuse with ``status`` (and, for 423, ``min_expires``)."""

    def __init__(self, status: int, reason: str, min_expires: int = 0) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.min_expires = min_expires


def requested_expires(request: Request, default: int, minimum: int, maximum: int) -> int:
    """The duration granted to ``request``'s Expires (0 = a fetch or an unsubscribe);
    raises SubscribeRefused: 400 for a malformed value, 423 below ``minimum``."""
    value = request.headers.get("Expires")
    if value is None:
        return min(default, maximum)
    value = value.strip()
    if not value.isdigit():
        raise SubscribeRefused(400, "Bad Expires")
    expires = int(value)
    if 0 < expires < minimum:
        raise SubscribeRefused(423, "Interval Too Brief", minimum)
    return min(expires, maximum)


def event_package(request: Request) -> str:
    """The Event header's package name (parameters such as ;id= dropped)."""
    value = request.headers.get("Event") or ""
    return value.split(";", 1)[0].strip().lower()


def accepts(request: Request, content_type: str) -> bool:
    """Does the SUBSCRIBE's Accept admit ``content_type``? No Accept header means the
    package's default type (RFC 6665 7.2); ``*/*`` and ``type/*`` ranges count, and
    parameters (q=, charset) are ignored. False is answered 406."""
    values = request.headers.get_all("Accept")
    if not values:
        return True
    wanted = content_type.lower()
    major = wanted.split("/", 1)[0]
    for value in values:
        for item in value.split(","):
            media = item.split(";", 1)[0].strip().lower()
            if media in (wanted, "*/*", f"{major}/*"):
                return True
    return False


# the application's handler of one package's SUBSCRIBE from the authenticated `user`
SubscribeHandler = Callable[[ServerTransaction, str], None]


class EventPackages:
    """Which handler serves each event package a SUBSCRIBE may name; any other is
    answered 489 Bad Event with Allow-Events listing them (RFC 6665 7.2.2)."""

    def __init__(self, ua: UserAgent, handlers: Mapping[str, SubscribeHandler]) -> None:
        self.ua = ua
        self.handlers = dict(handlers)
        self.allow_events = ", ".join(self.handlers)

    def subscribe(self, st: ServerTransaction, user: str) -> None:
        handler = self.handlers.get(event_package(st.request))
        if handler is None:
            refuse(self.ua, st, SubscribeRefused(489, "Bad Event"), self.allow_events)
            return
        handler(st, user)


def refuse(ua: UserAgent, st: ServerTransaction, exc: SubscribeRefused, events: str) -> None:
    response = ua.response(st.request, exc.status, exc.reason, to_tag=new_tag())
    if exc.status == 423:
        response.headers.add("Min-Expires", str(exc.min_expires))
    if exc.status == 489:
        response.headers.add("Allow-Events", events)
    st.respond(response)


class Subscription:
    """One subscription dialog, from the SUBSCRIBE we accepted to its termination."""

    def __init__(
        self,
        ua: UserAgent,
        st: ServerTransaction,
        event: str,
        content_type: str,
        *,
        minimum: int,
        maximum: int,
    ) -> None:
        self.ua = ua
        self.event = event
        self.content_type = content_type
        self.minimum = minimum
        self.maximum = maximum
        request = st.request
        self.dialog = Dialog.as_uas(request, new_tag(), st.peer)
        self.transport = st.peer.transport
        self.subscriber = request.from_addr.uri.user or ""
        self.state = SubscriptionState.ACTIVE
        self.expires = 0
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._sending = asyncio.Lock()
        self._body: Body = b""
        # NOTIFYs sent so far: the next one's number (a versioned body's version)
        self.version = 0
        # the application's: build the current body, forget a terminated subscription
        self.on_terminated: Callable[[Subscription], None] | None = None

    @property
    def active(self) -> bool:
        return self.state == SubscriptionState.ACTIVE

    def accept(self, st: ServerTransaction, expires: int) -> None:
        """Answer 200 and start the expiry clock; expires 0 (a fetch) ends the
        subscription after the one NOTIFY the application sends next."""
        self.ua.dialogs[self.dialog.id] = self
        self._ok(st, expires)

    def _ok(self, st: ServerTransaction, expires: int) -> None:
        response = self.ua.response(st.request, 200, "OK", to_tag=self.dialog.local_tag)
        response.headers.add("Expires", str(expires))
        response.headers.add("Contact", self.ua.contact(None, self.transport, st.peer.host))
        st.respond(response)
        self._arm(expires)

    def _arm(self, expires: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.expires = expires
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + expires
        self._timer = loop.call_later(expires, self._expired) if expires else None

    def _expired(self) -> None:
        self._timer = None
        log.info("subscription %s %s expired", self.event, self.dialog.call_id)
        self._spawn(self.terminate("timeout"))

    # -- NOTIFY -------------------------------------------------------------

    async def notify(self, body: Body) -> bool:
        """Send the current state; False once the subscription is over."""
        if not self.active:
            return False
        self._body = body
        if self.expires == 0:  # a fetch: this is its only NOTIFY
            await self.terminate("timeout")
            return False
        return await self._send(body, self._state_header())

    def _state_header(self) -> str:
        left = max(0, round(self._deadline - asyncio.get_running_loop().time()))
        return f"active;expires={left}"

    async def terminate(self, reason: str | None = None) -> None:
        """End the subscription with a final NOTIFY (``reason``: RFC 6665 4.1.3)."""
        if not self.active:
            return
        self.state = SubscriptionState.TERMINATED
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.ua.dialogs.pop(self.dialog.id, None)
        if self.on_terminated is not None:
            self.on_terminated(self)
        header = "terminated" + (f";reason={reason}" if reason else "")
        await self._send(self._body, header, final=True)

    async def _send(self, body: Body, state: str, final: bool = False) -> bool:
        async with self._sending:  # one NOTIFY at a time, in order
            if not final and not self.active:
                return False
            if callable(body):
                body = body(self.version)
            self.version += 1
            contact = self.ua.contact(None, self.transport, self.dialog.peer.host)
            request = self.dialog.create_request(
                "NOTIFY",
                self.ua.via(self.transport, self.dialog.peer.host),
                contact=contact,
                body=body,
                content_type=self.content_type if body else None,
            )
            request.headers.add("Event", self.event)
            request.headers.add("Subscription-State", state)
            try:
                response = await self.ua.request(request, self.dialog.peer)
            except SipError as exc:
                log.info("NOTIFY %s: not sent: %s", self.dialog.call_id, exc)
                response = None
        if response is None or response.status in _FATAL or response.status >= 500:
            if not final:
                log.info(
                    "subscription %s %s ends: NOTIFY answered %s",
                    self.event,
                    self.dialog.call_id,
                    response.status if response is not None else "nothing",
                )
                await self.terminate()
            return False
        return 200 <= response.status < 300

    # -- the dialog usage: requests inside the subscription -----------------

    def on_request(self, st: ServerTransaction) -> None:
        request = st.request
        if not self.dialog.accept_remote_cseq(request):
            st.respond(self.ua.response(request, 500, "CSeq Out of Order"))
            return
        if request.method != "SUBSCRIBE":
            st.respond(self.ua.response(request, 405, "Method Not Allowed"))
            return
        if event_package(request) != self.event:
            st.respond(self.ua.response(request, 489, "Bad Event"))
            return
        try:
            expires = requested_expires(request, self.maximum, self.minimum, self.maximum)
        except SubscribeRefused as exc:
            refuse(self.ua, st, exc, self.event)
            return
        self.dialog.refresh_target(request)
        self._ok(st, expires)
        if expires == 0:  # unsubscribe: the final NOTIFY carries the state once more
            self._spawn(self.terminate())
        else:
            self._spawn(self._send(self._body, self._state_header()))

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def abandon_pending(self) -> None:
        """Cancel the NOTIFYs this subscription started itself (refreshes, expiry)."""
        for task in list(self._tasks):
            task.cancel()

    def on_ack(self, request: Request) -> None:
        pass  # no INVITE in this dialog

    def on_stray_response(self, response: Response) -> None:
        pass


class Subscriptions:
    """One event package's live subscriptions, per resource (a box, an extension).

    A phone that restarts subscribes anew without ending its old subscription, so past
    ``limit`` for one resource the oldest is ended (memory stays bounded); an ended
    subscription (unsubscribed, expired, its NOTIFY refused) is forgotten at once.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        # per resource, oldest first (a dict as an ordered set)
        self._by_resource: dict[str, dict[Subscription, None]] = {}
        self._tasks: set[asyncio.Task[object]] = set()

    def add(self, resource: str, subscription: Subscription) -> None:
        """Keep an accepted subscription (this takes its ``on_terminated``)."""
        subscription.on_terminated = lambda ended: self._forget(resource, ended)
        kept = self._by_resource.setdefault(resource, {})
        kept[subscription] = None
        while len(kept) > self.limit:
            oldest = next(iter(kept))
            kept.pop(oldest)
            task = asyncio.ensure_future(oldest.terminate("deactivated"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _forget(self, resource: str, subscription: Subscription) -> None:
        kept = self._by_resource.get(resource)
        if kept is not None:
            kept.pop(subscription, None)
            if not kept:
                del self._by_resource[resource]

    def of(self, resource: str) -> list[Subscription]:
        """The live subscriptions to ``resource``, oldest first."""
        return list(self._by_resource.get(resource, ()))

    def __iter__(self) -> Iterator[Subscription]:
        return iter([s for kept in self._by_resource.values() for s in kept])

    def __len__(self) -> int:
        return sum(len(kept) for kept in self._by_resource.values())

    async def stop(self, reason: str = "noresource") -> None:
        """End every subscription (a final NOTIFY each), as a restart would lose them.

        NOTIFYs still in flight are abandoned first: the final one says it all, and one
        to a subscriber that stopped answering would hold it up for 32 s."""
        for task in list(self._tasks):
            task.cancel()
        subscriptions = list(self)
        for subscription in subscriptions:
            subscription.abandon_pending()
        await asyncio.gather(*(s.terminate(reason) for s in subscriptions), return_exceptions=True)
