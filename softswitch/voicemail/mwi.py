"""The message lamp (RFC 3842): who is told of a box's messages, and how.

A phone that subscribes to ``message-summary`` for its own extension gets the summary
at once and again on every change, in its subscription (softswitch/sip/subscription).
A registered device of the extension with no subscription gets the change as an
unsolicited NOTIFY outside any dialog (as phones set up for Asterisk's unsolicited MWI
expect), and one when it registers anew while messages wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..sip.address import Address
from ..sip.errors import SipError
from ..sip.message import Request
from ..sip.routes import uri_host
from ..sip.subscription import (
    SubscribeRefused,
    Subscription,
    Subscriptions,
    event_package,
    refuse,
    requested_expires,
)
from ..sip.transaction import ServerTransaction
from ..sip.transport import Peer
from ..sip.ua import UserAgent
from ..sip.uri import SipUri
from ..store import Binding
from ..store.binding_paths import BindingPaths
from ..store.voicemail import MessageCounts
from .service import Voicemail
from .summary import CONTENT_TYPE, EVENT, message_summary

log = logging.getLogger("softswitch.voicemail.mwi")

# RFC 3842 5.1: an hour unless asked otherwise; [sip] min_expires/max_expires bound it
DEFAULT_EXPIRES = 3600
# subscriptions kept per box: a phone that restarts subscribes anew without ending its
# old subscription, so past this many the oldest is ended (memory stays bounded)
MAX_PER_BOX = 16


class MessageWaiting:
    def __init__(
        self,
        ua: UserAgent,
        voicemail: Voicemail | None,
        bindings: Callable[[str], list[Binding]],
        *,
        paths: BindingPaths | None = None,
        min_expires: int,
        max_expires: int,
    ) -> None:
        self.ua = ua
        self.voicemail = voicemail
        self.bindings = bindings
        self.paths = paths  # in a cluster: a phone's Path is the NOTIFY's Route (RFC 3327)
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.subscriptions = Subscriptions(MAX_PER_BOX)
        self._tasks: set[asyncio.Task[object]] = set()
        if voicemail is not None:
            voicemail.watch(self.changed)

    # -- SUBSCRIBE ----------------------------------------------------------

    def subscribe(self, st: ServerTransaction, user: str) -> None:
        """An out-of-dialog SUBSCRIBE from the authenticated extension `user`."""
        request = st.request
        try:
            if event_package(request) != EVENT:
                raise SubscribeRefused(489, "Bad Event")
            box = request.uri.user or request.to_addr.uri.user or ""
            if box != user:  # one's own lamp only
                raise SubscribeRefused(403, "Forbidden")
            if self.voicemail is None or not self.voicemail.has_box(box):
                raise SubscribeRefused(404, "No Voicemail Box")
            expires = requested_expires(
                request, DEFAULT_EXPIRES, self.min_expires, self.max_expires
            )
        except SubscribeRefused as exc:
            log.info("SUBSCRIBE %s from %s refused: %d", request.call_id, user, exc.status)
            refuse(self.ua, st, exc, EVENT)
            return
        subscription = Subscription(
            self.ua,
            st,
            EVENT,
            CONTENT_TYPE,
            minimum=self.min_expires,
            maximum=self.max_expires,
        )
        subscription.accept(st, expires)
        if expires:
            self.subscriptions.add(box, subscription)
        log.info("mwi: %s subscribed from %s for %d s", box, st.peer, expires)
        self._spawn(subscription.notify(self._body(box, st.peer.host)))

    # -- changes ------------------------------------------------------------

    def changed(self, extension: str, counts: MessageCounts) -> None:
        """Tell every subscriber, and every registered device without a subscription."""
        subscriptions = self.subscriptions.of(extension)
        subscribed = {(s.dialog.peer.host, s.dialog.peer.port) for s in subscriptions}
        for subscription in subscriptions:
            body = message_summary(self._account(extension, subscription.dialog.peer.host), counts)
            self._spawn(subscription.notify(body))
        for binding in self.bindings(extension):
            if (binding.source_host, binding.source_port) not in subscribed:
                self._spawn(self._unsolicited(extension, binding, counts))

    def registered(self, binding: Binding) -> None:
        """A device just registered: one with messages waiting for it and no
        subscription from its address gets the lamp lit at once (its lamp came up off)."""
        if self.voicemail is None or not self.voicemail.has_box(binding.aor):
            return
        counts = self.voicemail.counts(binding.aor)
        subscribed = {
            (s.dialog.peer.host, s.dialog.peer.port) for s in self.subscriptions.of(binding.aor)
        }
        if counts.new and (binding.source_host, binding.source_port) not in subscribed:
            self._spawn(self._unsolicited(binding.aor, binding, counts))

    async def _unsolicited(self, extension: str, binding: Binding, counts: MessageCounts) -> None:
        peer = Peer(binding.transport, binding.source_host, binding.source_port)
        account = self._account(extension, peer.host)
        box_uri = SipUri.parse(account)
        request: Request = self.ua.new_request(
            "NOTIFY",
            SipUri.parse(binding.contact),
            Address(box_uri),
            Address(box_uri),
            transport=binding.transport,
            body=message_summary(account, counts),
            content_type=CONTENT_TYPE,
            peer_host=peer.host,
        )
        request.headers.add("Event", EVENT)
        request.headers.add("Subscription-State", "active")
        path = self.paths.get(binding.aor, binding.contact) if self.paths else ""
        if path:
            request.headers.add("Route", path)
        try:
            response = await self.ua.request(request, peer)
        except SipError as exc:
            log.info("mwi: unsolicited NOTIFY to %s not sent: %s", binding.contact, exc)
            return
        log.info("mwi: unsolicited NOTIFY to %s: %d", binding.contact, response.status)

    def _body(self, extension: str, peer_host: str) -> bytes:
        assert self.voicemail is not None
        return message_summary(
            self._account(extension, peer_host), self.voicemail.counts(extension)
        )

    def _account(self, extension: str, peer_host: str) -> str:
        return f"sip:{extension}@{uri_host(self.ua.advertised(peer_host))}"

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """End every subscription (a final NOTIFY each), as a restart would lose them."""
        for task in list(self._tasks):  # in flight: the final NOTIFY says it all
            task.cancel()
        await self.subscriptions.stop()
