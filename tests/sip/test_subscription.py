"""The notifier's subscription dialog (RFC 6665) between two real UserAgents on
127.0.0.1: 200 with Expires, NOTIFYs in the dialog, refresh, unsubscribe, expiry, and
a subscriber that forgot the dialog (481) ending it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from softswitch.sip.address import Address
from softswitch.sip.dialog import Dialog
from softswitch.sip.message import Request, Response
from softswitch.sip.subscription import (
    EventPackages,
    SubscribeRefused,
    Subscription,
    Subscriptions,
    SubscriptionState,
    accepts,
    event_package,
    requested_expires,
)
from softswitch.sip.transaction import ServerTransaction, Timers
from softswitch.sip.transport import Peer
from softswitch.sip.ua import UserAgent
from softswitch.sip.uri import SipUri

FAST = Timers(t1=0.02, t2=0.1, t4=0.1)
EVENT = "message-summary"


class Subscriber:
    """Alice's dialog usage: records the NOTIFYs and answers them `status`."""

    def __init__(self, ua: UserAgent) -> None:
        self.ua = ua
        self.notifies: list[Request] = []
        self.status = 200
        self.arrived = asyncio.Event()

    def on_request(self, st: ServerTransaction) -> None:
        self.notifies.append(st.request)
        st.respond(self.ua.response(st.request, self.status))
        self.arrived.set()

    def on_ack(self, request: Request) -> None:
        pass

    def on_stray_response(self, response: Response) -> None:
        pass

    async def next(self, count: int, timeout: float = 3.0) -> Request:
        async with asyncio.timeout(timeout):
            while len(self.notifies) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.notifies[count - 1]


class Pair:
    def __init__(self) -> None:
        self.accepted: list[Subscription] = []
        self.expires_asked: list[int] = []
        self.notifier = UserAgent("127.0.0.1", 0, self._subscribe, timers=FAST)
        self.alice = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
        self.subscriber = Subscriber(self.alice)
        self.dialog: Dialog | None = None

    def _subscribe(self, st: ServerTransaction) -> None:
        expires = requested_expires(st.request, 3600, 2, 7200)
        subscription = Subscription(self.notifier, st, EVENT, "text/plain", minimum=2, maximum=7200)
        subscription.accept(st, expires)
        self.accepted.append(subscription)
        asyncio.ensure_future(subscription.notify(b"state 1"))

    @property
    def peer(self) -> Peer:
        return Peer("UDP", "127.0.0.1", self.notifier.port)

    async def subscribe(self, expires: int) -> Response:
        uri = SipUri("sip", "102", "127.0.0.1", self.notifier.port)
        request = self.alice.new_request(
            "SUBSCRIBE", uri, Address(SipUri("sip", "102", "h")), Address(uri)
        )
        request.headers.add("Event", EVENT)
        request.headers.add("Expires", str(expires))
        response = await self.alice.request(request, self.peer)
        self.dialog = Dialog.as_uac(request, response, self.peer)
        self.alice.dialogs[self.dialog.id] = self.subscriber
        return response

    async def resubscribe(self, expires: int) -> Response:
        assert self.dialog is not None
        request = self.dialog.create_request(
            "SUBSCRIBE", self.alice.via("UDP", "127.0.0.1"), contact=self.alice.contact("102")
        )
        request.headers.add("Event", EVENT)
        request.headers.add("Expires", str(expires))
        return await self.alice.request(request, self.peer)


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    p = Pair()
    await p.notifier.start()
    await p.alice.start()
    yield p
    await p.alice.stop()
    await p.notifier.stop()


async def test_accept_notify_refresh_then_unsubscribe(pair: Pair) -> None:
    response = await pair.subscribe(600)
    assert response.status == 200
    assert response.headers.get("Expires") == "600"
    assert response.to_addr.tag
    first = await pair.subscriber.next(1)
    assert first.method == "NOTIFY" and first.body == b"state 1"
    assert first.headers.get("Event") == EVENT
    assert first.headers.get("Content-Type") == "text/plain"
    assert first.headers.get("Subscription-State") in ("active;expires=600", "active;expires=599")
    (subscription,) = pair.accepted
    # a change: the next NOTIFY in the same dialog, CSeq going up
    assert await subscription.notify(b"state 2")
    second = await pair.subscriber.next(2)
    assert second.body == b"state 2" and second.cseq[0] > first.cseq[0]
    # a refresh: 200 with the new duration and the state again
    assert (await pair.resubscribe(300)).headers.get("Expires") == "300"
    third = await pair.subscriber.next(3)
    assert third.body == b"state 2"
    assert third.headers.get("Subscription-State").startswith("active;expires=")
    # unsubscribe: 200, then a final NOTIFY, and the dialog is gone
    assert (await pair.resubscribe(0)).status == 200
    last = await pair.subscriber.next(4)
    assert last.headers.get("Subscription-State") == "terminated"
    assert subscription.state == SubscriptionState.TERMINATED
    assert subscription.dialog.id not in pair.notifier.dialogs
    assert not await subscription.notify(b"state 3")
    assert (await pair.resubscribe(300)).status == 481


async def test_expiry_ends_the_subscription_with_reason_timeout(pair: Pair) -> None:
    await pair.subscribe(2)
    await pair.subscriber.next(1)
    final = await pair.subscriber.next(2, timeout=4.0)
    assert final.headers.get("Subscription-State") == "terminated;reason=timeout"
    assert pair.accepted[0].state == SubscriptionState.TERMINATED


async def test_a_fetch_gets_one_notify_that_ends_it(pair: Pair) -> None:
    response = await pair.subscribe(0)
    assert response.headers.get("Expires") == "0"
    only = await pair.subscriber.next(1)
    assert only.body == b"state 1"
    assert only.headers.get("Subscription-State") == "terminated;reason=timeout"


async def test_subscriber_that_forgot_the_dialog_ends_it(pair: Pair) -> None:
    await pair.subscribe(600)
    await pair.subscriber.next(1)
    pair.subscriber.status = 481
    (subscription,) = pair.accepted
    assert not await subscription.notify(b"state 2")
    assert subscription.state == SubscriptionState.TERMINATED
    assert subscription.dialog.id not in pair.notifier.dialogs


def request_with(**headers: str) -> Request:
    ua = UserAgent("127.0.0.1", 0, lambda st: None)
    uri = SipUri("sip", "102", "h")
    request = ua.new_request("SUBSCRIBE", uri, Address(uri), Address(uri))
    for name, value in headers.items():
        request.headers.add(name.replace("_", "-"), value)
    return request


def test_requested_expires_bounds_and_errors() -> None:
    assert requested_expires(request_with(), 3600, 60, 1800) == 1800  # default, capped
    assert requested_expires(request_with(Expires="120"), 3600, 60, 1800) == 120
    assert requested_expires(request_with(Expires="0"), 3600, 60, 1800) == 0
    with pytest.raises(SubscribeRefused) as brief:
        requested_expires(request_with(Expires="10"), 3600, 60, 1800)
    assert (brief.value.status, brief.value.min_expires) == (423, 60)
    with pytest.raises(SubscribeRefused) as bad:
        requested_expires(request_with(Expires="soon"), 3600, 60, 1800)
    assert bad.value.status == 400


def test_event_package_drops_parameters() -> None:
    assert event_package(request_with(Event="Message-Summary;id=1")) == "message-summary"
    assert event_package(request_with()) == ""


def test_accepts_types_ranges_and_no_header() -> None:
    wanted = "application/dialog-info+xml"
    assert accepts(request_with(), wanted)  # no Accept: the package's default type
    assert accepts(request_with(Accept="Application/Dialog-Info+XML;q=0.8"), wanted)
    assert accepts(request_with(Accept="text/plain, application/*"), wanted)
    assert accepts(request_with(Accept="*/*"), wanted)
    assert not accepts(request_with(Accept="application/pidf+xml, text/*"), wanted)
    assert not accepts(request_with(Accept="application/dialog-info"), wanted)


async def test_versioned_body_is_written_as_each_notify_goes_out(pair: Pair) -> None:
    await pair.subscribe(600)
    await pair.subscriber.next(1)
    (subscription,) = pair.accepted
    assert await subscription.notify(lambda version: f"v{version}".encode())
    assert (await pair.subscriber.next(2)).body == b"v1"  # the first NOTIFY was number 0
    await pair.resubscribe(300)  # a refresh sends the state again: a new version
    assert (await pair.subscriber.next(3)).body == b"v2"
    await pair.resubscribe(0)
    assert (await pair.subscriber.next(4)).body == b"v3"  # the final one, too


async def test_subscriptions_per_resource_bounded_and_forgotten(pair: Pair) -> None:
    kept = Subscriptions(limit=2)
    for _ in range(3):
        await pair.subscribe(600)
        kept.add("102", pair.accepted[-1])
    await pair.subscriber.next(3)
    first, second, third = pair.accepted
    assert kept.of("102") == [second, third] and len(kept) == 2
    final = await pair.subscriber.next(4)  # the oldest ended to make room
    assert final.headers.get("Subscription-State") == "terminated;reason=deactivated"
    assert first.state == SubscriptionState.TERMINATED
    await second.terminate()  # ended by anyone: forgotten at once
    assert kept.of("102") == [third] and kept.of("103") == []
    await kept.stop()
    assert third.state == SubscriptionState.TERMINATED and len(kept) == 0
    notifies = await pair.subscriber.next(6)
    assert notifies.headers.get("Subscription-State") == "terminated;reason=noresource"


async def test_event_packages_dispatch_and_refuse_others(pair: Pair) -> None:
    served: list[tuple[str, str]] = []

    def dialog(st: ServerTransaction, user: str) -> None:
        served.append(("dialog", user))
        st.respond(pair.notifier.response(st.request, 603))

    packages = EventPackages(pair.notifier, {"dialog": dialog, EVENT: dialog})
    pair.notifier.on_request = lambda st: packages.subscribe(st, "101")
    uri = SipUri("sip", "102", "127.0.0.1", pair.notifier.port)
    answers: list[Response] = []
    for event in ("Dialog;id=7", "presence"):
        request = pair.alice.new_request("SUBSCRIBE", uri, Address(uri), Address(uri))
        request.headers.add("Event", event)
        answers.append(await pair.alice.request(request, pair.peer))
    assert [a.status for a in answers] == [603, 489]
    assert answers[1].headers.get_all("Allow-Events") == ["dialog", EVENT]
    assert served == [("dialog", "101")]
