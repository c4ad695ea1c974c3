"""NAT keepalive: a ping to every registered device, through its flow, every
`interval` seconds, and qualification: a device that stops answering is unreachable.

A phone behind a home router is reachable only while the router remembers the UDP
mapping its REGISTER opened, which it forgets after 30 s or so of silence, long
before the phone re-registers. The ping and its answer keep the mapping alive, so an
idle phone still gets its calls. The pings of one round are spread over the interval
rather than sent in a burst.

Over UDP the ping is an OPTIONS request, and its answer qualifies the phone.

Over TCP and TLS (a flow: the binding names the phone's connection) the ping is the
RFC 5626 double CRLF on that connection: 4 bytes instead of an OPTIONS transaction and
its 200. RFC 5626 has the phone ping the registrar, and only once the registrar's 200
says ``Require: outbound`` (libre, baresip's SIP stack, waits for it; ours does not
send it), so the switch pings instead. Phones built on libre (baresip 1.0, checked over
TCP and TLS with a plain account, no ``;outbound``) answer any ping on a SIP connection
with a pong, as RFC 5626 3.5.1 asks of the side that receives one; others may skip the
CRLFs silently (RFC 3261 7.5). So qualification follows what the phone does rather
than what its REGISTER claims (Supported: outbound, reg-id): a pong heard on the
connection since the previous ping proves the phone alive; a phone that has answered
pings before and misses one is asked with an OPTIONS at once; a phone that never pongs
gets an OPTIONS every QUALIFY_ROUNDS rounds. A connection that closes (or a ping that
cannot be written) makes its phone unreachable at once: nothing could reach it through
that flow. Its next REGISTER, on a new connection, makes it reachable again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from .sip.address import Address
from .sip.errors import SipError
from .sip.routes import uri_host
from .sip.transport import Peer
from .sip.ua import UserAgent
from .sip.uri import SipUri
from .store import Store
from .store.binding_paths import BindingPaths
from .store.database import Binding

log = logging.getLogger("softswitch.keepalive")

STREAM_TRANSPORTS = frozenset({"TCP", "TLS"})
# On a flow whose phone does not answer CRLF pings, every how many rounds an OPTIONS
# checks that the phone is still alive (100 s with the default 25 s interval).
QUALIFY_ROUNDS = 4

Key = tuple[str, str]  # (aor, contact): one binding


@dataclass(slots=True)
class _Flow:
    """What the keepalive knows of one binding's TCP/TLS connection."""

    peer: Peer
    pongs: int  # pongs heard on the connection when it was last pinged
    answers: bool = False  # has answered a ping: a missing pong is news
    quiet: int = 0  # rounds since the phone last proved alive


class NatKeepalive:
    def __init__(
        self, ua: UserAgent, store: Store, interval: float, paths: BindingPaths | None = None
    ) -> None:
        self.ua = ua
        self.store = store
        self.paths = paths  # in a cluster: a phone's Path is the ping's Route (RFC 3327)
        self.interval = interval
        self.sent = 0  # OPTIONS pings sent so far (for tests and /health)
        self.crlf_sent = 0  # RFC 5626 double-CRLF pings written on TCP/TLS flows
        # (aor, contact) -> (call_id, cseq) of the registration that stopped answering;
        # a refreshed registration (another CSeq) is reachable again
        self._unreachable: dict[Key, tuple[str, int]] = {}
        self._flows: dict[Key, _Flow] = {}
        self._task: asyncio.Task[None] | None = None
        self._pings: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self.ua.transport.closed_listeners.append(self._closed)
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._closed in self.ua.transport.closed_listeners:
            self.ua.transport.closed_listeners.remove(self._closed)
        tasks = [t for t in (self._task, *self._pings) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        self._pings.clear()

    def reachable(self, binding: Binding) -> bool:
        """False while the device has left pings unanswered since it last registered."""
        marked = self._unreachable.get((binding.aor, binding.contact))
        return marked is None or marked != (binding.call_id, binding.cseq)

    def unreachable(self) -> list[str]:
        """The contacts currently unreachable, for /health."""
        return sorted(contact for _, contact in self._unreachable)

    async def _run(self) -> None:
        while True:
            bindings = self.store.live_bindings()
            live = {(b.aor, b.contact): (b.call_id, b.cseq) for b in bindings}
            for key in [k for k, mark in self._unreachable.items() if live.get(k) != mark]:
                del self._unreachable[key]  # expired, unregistered or registered anew since
            for key in [k for k in self._flows if k not in live]:
                del self._flows[key]
            if not bindings:
                await asyncio.sleep(self.interval)
                continue
            gap = self.interval / len(bindings)
            for binding in bindings:
                await asyncio.sleep(gap)
                if binding.transport in STREAM_TRANSPORTS:
                    task = asyncio.create_task(self._ping_flow(binding))
                else:
                    task = asyncio.create_task(self._ping(binding))
                self._pings.add(task)
                task.add_done_callback(self._pings.discard)

    async def _ping(self, binding: Binding) -> None:
        try:
            target = SipUri.parse(binding.contact)
            me = Address(SipUri("sip", None, uri_host(self.ua.advertised(binding.source_host))))
            peer = Peer(binding.transport, binding.source_host, binding.source_port)
            request = self.ua.new_request(
                "OPTIONS",
                target,
                me,
                Address(target),
                transport=binding.transport,
                peer_host=peer.host,
            )
            path = self.paths.get(binding.aor, binding.contact) if self.paths else ""
            if path:
                request.headers.add("Route", path)
            transaction = await self.ua.send(request, peer)
            self.sent += 1
            response = await transaction.final
        except SipError as exc:
            log.debug("keepalive to %s (%s) not sent: %s", binding.aor, binding.contact, exc)
            return
        # Any answer (even 404/405) proves the mapping works; 408 is the transaction's
        # timeout (silence), 503 a transport error.
        if response.status in (408, 503):
            self._mark(binding, f"no answer ({response.status})")
        else:
            self._clear(binding)

    async def _ping_flow(self, binding: Binding) -> None:
        """A double CRLF on the binding's connection; an OPTIONS when its pongs are missed."""
        key = (binding.aor, binding.contact)
        peer = Peer(binding.transport, binding.source_host, binding.source_port)
        transport = self.ua.transport
        pongs = transport.pongs(peer)
        if pongs is None:
            self._mark(binding, "its connection is closed")
            return
        flow = self._flows.get(key)
        if flow is None or flow.peer != peer:
            flow = self._flows[key] = _Flow(peer, pongs)
        elif pongs > flow.pongs:  # it answered the previous ping
            flow.pongs, flow.answers, flow.quiet = pongs, True, 0
            self._clear(binding)
        else:
            flow.quiet += 1
        try:
            transport.ping(peer)
        except SipError as exc:
            self._mark(binding, str(exc))
            return
        self.crlf_sent += 1
        if flow.quiet >= (1 if flow.answers else QUALIFY_ROUNDS):
            flow.quiet = 0
            await self._ping(binding)

    def _closed(self, peer: Peer) -> None:
        """A TCP/TLS connection closed: the phones registered through it are unreachable."""
        for binding in self.store.live_bindings():
            if (binding.transport, binding.source_host, binding.source_port) == (
                peer.transport,
                peer.host,
                peer.port,
            ):
                self._mark(binding, "its connection closed")

    def _mark(self, binding: Binding, why: str) -> None:
        key = (binding.aor, binding.contact)
        if key not in self._unreachable:
            log.info("keepalive: %s at %s is unreachable: %s", binding.aor, binding.contact, why)
        self._unreachable[key] = (binding.call_id, binding.cseq)

    def _clear(self, binding: Binding) -> None:
        if self._unreachable.pop((binding.aor, binding.contact), None) is not None:
            log.info("keepalive: %s at %s answers again", binding.aor, binding.contact)
