"""Two real UserAgents on 127.0.0.1, Alice calling Bob, with short RFC 3261 timers: the
INVITE-level tests (test_invite, test_reliable, test_session_timer, test_refer) share it;
tests/sip/conftest.py makes it the ``pair`` fixture."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from softswitch.sip.address import Address
from softswitch.sip.invite import IncomingInvite, OutgoingInvite
from softswitch.sip.message import Request, Response
from softswitch.sip.reliable import PrackMode
from softswitch.sip.transaction import ServerTransaction, Timers
from softswitch.sip.transport import Peer
from softswitch.sip.ua import UserAgent
from softswitch.sip.uri import SipUri
from tests.sip.raw import RawUdp

FAST = Timers(t1=0.02, t2=0.1, t4=0.1)
GIVE_UP = 64 * FAST.t1  # timer B/H and the 2xx retransmission limit
OFFER = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
ANSWER = OFFER.replace(b"o=- 1 1", b"o=- 2 1")


async def eventually(check: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


class Pair:
    """Alice (caller) and Bob (callee), each a UserAgent on its own port."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[ServerTransaction] = asyncio.Queue()
        self.alice = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
        self.bob = UserAgent("127.0.0.1", 0, self.incoming.put_nowait, timers=FAST)

    def call(
        self, transport: str = "UDP", body: bytes = OFFER, prack: PrackMode = PrackMode.OFF
    ) -> OutgoingInvite:
        """Alice's INVITE to Bob; ``prack`` is what it asks about 100rel."""
        target = SipUri("sip", "bob", "127.0.0.1", self.bob.port)
        return OutgoingInvite(
            self.alice,
            uri=target,
            from_addr=Address(SipUri("sip", "alice", "127.0.0.1"), "Alice"),
            to_addr=Address(target),
            peer=Peer(transport, "127.0.0.1", self.bob.port),
            body=body,
            prack=prack,
        )

    async def ringing(self) -> IncomingInvite:
        st = await asyncio.wait_for(self.incoming.get(), 2)
        return IncomingInvite(self.bob, st)

    async def started(
        self, call: OutgoingInvite
    ) -> tuple[asyncio.Future[Response], IncomingInvite, list[Response]]:
        """``call`` running (its final response to come), Bob's side of it ringing, and
        the provisional responses Alice gets, as they come."""
        provisional: list[Response] = []
        call.on_provisional = provisional.append
        task = asyncio.ensure_future(call.run())
        return task, await self.ringing(), provisional

    async def connected(
        self, transport: str = "UDP"
    ) -> tuple[OutgoingInvite, IncomingInvite, Response]:
        call = self.call(transport)
        task = asyncio.ensure_future(call.run())
        bob = await self.ringing()
        bob.answer(ANSWER)
        return call, bob, await asyncio.wait_for(task, 2)


@asynccontextmanager
async def ua_and_raw(
    on_request: Callable[[ServerTransaction], None] = lambda st: None, **options: Any
) -> AsyncIterator[tuple[UserAgent, RawUdp]]:
    """One started UserAgent (FAST timers unless ``options`` say other timers) and a raw
    UDP socket that plays its peer by hand; both closed after."""
    ua = UserAgent("127.0.0.1", 0, on_request, **{"timers": FAST, **options})
    await ua.start()
    raw = await RawUdp.open()
    try:
        yield ua, raw
    finally:
        raw.close()
        await ua.stop()


def call_to_raw(
    alice: UserAgent, raw: RawUdp, user: str = "bob", prack: PrackMode = PrackMode.OFF
) -> OutgoingInvite:
    """Alice calls a raw socket that plays the callee (or a forking proxy) by hand."""
    target = SipUri("sip", user, "127.0.0.1", raw.port)
    return OutgoingInvite(
        alice,
        uri=target,
        from_addr=Address(SipUri("sip", "alice", "127.0.0.1")),
        to_addr=Address(target),
        peer=Peer("UDP", "127.0.0.1", raw.port),
        body=OFFER,
        prack=prack,
    )


def answered_by_raw(
    invite: Request, raw: RawUdp, status: int, tag: str, user: str = "bob"
) -> Response:
    """The raw callee's ``status`` to ``invite`` from the dialog (or fork) ``tag``, with
    its Contact (``user`` at the raw socket)."""
    response = invite.make_response(status, to_tag=tag)
    response.headers.add("Contact", f"<sip:{user}@127.0.0.1:{raw.port}>")
    return response
