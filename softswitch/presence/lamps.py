"""Busy lamps: SUBSCRIBE to ``dialog`` (RFC 4235) or ``presence`` (RFC 3863) for an
extension, and a NOTIFY to each watcher whenever one of its calls rings, is answered
or ends, in either direction.

The switch's channel registry tells `channel_changed` of every leg's life (the one
place that sees them all); only the legs of extensions that are in a call are kept,
one small frozen `Line` each, and a watcher's subscription holds nothing but its
dialog and the last state it was told (softswitch.sip.subscription).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from ..channel import ChannelEvent
from ..sip.routes import uri_host
from ..sip.subscription import (
    Body,
    SubscribeRefused,
    Subscription,
    Subscriptions,
    accepts,
    event_package,
    refuse,
    requested_expires,
)
from ..sip.transaction import ServerTransaction
from ..sip.ua import UserAgent
from ..store import Binding
from . import dialog_info, pidf
from .lines import Line, LineState, activity, line_of

log = logging.getLogger("softswitch.presence")

# RFC 4235 and RFC 3856 suggest an hour; [sip] min_expires/max_expires bound it
DEFAULT_EXPIRES = 3600
# watchers of one extension per package: every desk's key for the receptionist fits,
# and a phone that resubscribes after each restart cannot grow it without bound
MAX_PER_EXTENSION = 64

CONTENT_TYPES = {dialog_info.EVENT: dialog_info.CONTENT_TYPE, pidf.EVENT: pidf.CONTENT_TYPE}


class BusyLamps:
    """The watchers of every extension, for both packages.

    `account_of(number)` is the account an extension belongs to ("" when none is
    configured), None when there is no such extension; a watcher sees only extensions
    of its own account. `is_registered(number)` says whether a device of it is
    registered (PIDF's basic open/closed).
    """

    def __init__(
        self,
        ua: UserAgent,
        account_of: Callable[[str], str | None],
        is_registered: Callable[[str], bool],
        *,
        min_expires: int,
        max_expires: int,
    ) -> None:
        self.ua = ua
        self.account_of = account_of
        self.is_registered = is_registered
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.watchers = {event: Subscriptions(MAX_PER_EXTENSION) for event in CONTENT_TYPES}
        # extension -> its legs in progress, by channel name (gone when it hangs up)
        self.lines: dict[str, dict[str, Line]] = {}
        self._tasks: set[asyncio.Task[object]] = set()

    # -- SUBSCRIBE ----------------------------------------------------------

    def subscribe(self, st: ServerTransaction, user: str) -> None:
        """An out-of-dialog SUBSCRIBE to ``dialog`` or ``presence`` from the
        authenticated extension `user`; the watched one is the Request-URI's user."""
        request = st.request
        event = event_package(request)
        try:
            content_type = CONTENT_TYPES.get(event)
            if content_type is None:
                raise SubscribeRefused(489, "Bad Event")
            extension = request.uri.user or ""
            account = self.account_of(extension)
            if account is None:
                raise SubscribeRefused(404, "Not Found")
            if account != self.account_of(user):
                raise SubscribeRefused(403, "Forbidden")
            if not accepts(request, content_type):
                raise SubscribeRefused(406, "Not Acceptable")
            expires = requested_expires(
                request, DEFAULT_EXPIRES, self.min_expires, self.max_expires
            )
        except SubscribeRefused as exc:
            log.info(
                "SUBSCRIBE %s %s from %s refused: %d", event, request.call_id, user, exc.status
            )
            refuse(self.ua, st, exc, ", ".join(CONTENT_TYPES))
            return
        subscription = Subscription(
            self.ua,
            st,
            event,
            content_type,
            minimum=self.min_expires,
            maximum=self.max_expires,
        )
        subscription.accept(st, expires)
        if expires:
            self.watchers[event].add(extension, subscription)
        log.info("%s: %s watches %s for %d s", event, user, extension, expires)
        lines = tuple(self.lines.get(extension, {}).values())
        self._spawn(subscription.notify(self._body(subscription, extension, lines)))

    # -- changes ------------------------------------------------------------

    def channel_changed(self, event: ChannelEvent) -> None:
        """A leg was created or changed state: if it is an extension's, and the
        extension's watchers see a difference, each gets a NOTIFY."""
        found = line_of(event.channel, event.state)
        if found is None:
            return
        extension, line = found
        calls = self.lines.get(extension)
        if line.state == LineState.TERMINATED:
            if calls is None or calls.pop(line.id, None) is None:
                return  # a leg we never saw alive (or told of its end already)
            if not calls:
                del self.lines[extension]
            told = (*calls.values(), line)  # the end told once, then forgotten
        else:
            if calls is None:
                calls = self.lines[extension] = {}
            if calls.get(line.id) == line:
                return  # ringing then early media: the same dialog state
            calls[line.id] = line
            told = tuple(calls.values())
        self._tell(extension, told)

    def device_registered(self, binding: Binding) -> None:
        """A device of an extension registered anew: presence watchers see it open."""
        lines = tuple(self.lines.get(binding.aor, {}).values())
        self._tell(binding.aor, lines, (pidf.EVENT,))

    def _tell(
        self, extension: str, lines: tuple[Line, ...], events: Iterable[str] = CONTENT_TYPES
    ) -> None:
        """NOTIFY the extension's watchers of `events` (both packages unless told)."""
        registered: bool | None = None  # asked of the store once per change, if at all
        for event in events:
            for subscription in self.watchers[event].of(extension):
                if event == pidf.EVENT and registered is None:
                    registered = self.is_registered(extension)
                body = self._body(subscription, extension, lines, registered)
                self._spawn(subscription.notify(body))

    def _body(
        self,
        subscription: Subscription,
        extension: str,
        lines: tuple[Line, ...],
        registered: bool | None = None,
    ) -> Body:
        entity = f"sip:{extension}@{uri_host(self.ua.advertised(subscription.dialog.peer.host))}"
        if subscription.event == dialog_info.EVENT:
            return lambda version: dialog_info.dialog_info(entity, version, lines)
        if registered is None:
            registered = self.is_registered(extension)
        return pidf.pidf(entity, registered, activity(lines))

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """End every subscription (a final NOTIFY each), as a restart would lose them;
        the NOTIFYs of changes still in flight are abandoned first."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(
            *(subscriptions.stop() for subscriptions in self.watchers.values()),
            return_exceptions=True,
        )
