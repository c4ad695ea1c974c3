"""Client and server transactions (RFC 3261 section 17, with RFC 6026's Accepted state).

The ``TransactionLayer`` sits between the transport and the transaction user (the
user-agent core): it matches responses to client transactions and requests to server
transactions, retransmits over UDP, absorbs retransmissions, and runs timers A to K.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .errors import SipError
from .headers import Headers
from .message import Request, Response
from .transport import Peer, Transport

log = logging.getLogger("softswitch.sip.transaction")


class TransactionState(StrEnum):
    """The states of RFC 3261 17.1 and 17.2 (figures 5 to 8) and RFC 6026.

    Client INVITE: calling -> proceeding -> completed -> terminated (a 2xx
    terminates at once: the TU acknowledges it).  Client non-INVITE and server
    non-INVITE: trying -> proceeding -> completed -> terminated.  Server INVITE:
    proceeding -> completed -> confirmed -> terminated for a non-2xx final
    response, proceeding -> accepted -> terminated for a 2xx.
    """

    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


# Bound once at import: reading an Enum member through its class costs about
# 0.1 us on Python 3.11, and the layer reads states for every message.
_CALLING = TransactionState.CALLING
_TRYING = TransactionState.TRYING
_PROCEEDING = TransactionState.PROCEEDING
_COMPLETED = TransactionState.COMPLETED
_CONFIRMED = TransactionState.CONFIRMED
_ACCEPTED = TransactionState.ACCEPTED
_TERMINATED = TransactionState.TERMINATED
# No final response sent or received yet.
_AWAITING_FINAL = (_CALLING, _TRYING, _PROCEEDING)


@dataclass(slots=True)
class Timers:
    """RFC 3261 timer values in seconds (Table 4); tests shrink them."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    # how long a ringing INVITE of ours may go unanswered; RFC 3261 16.6 step 11 sets
    # a proxy's timer C "greater than 3 minutes"
    c: float = 181.0


@dataclass(slots=True)
class Limits:
    """How many server transactions may live at once: in all, and per source address.

    Beyond either cap a new request gets a stateless 503 with Retry-After (an ACK is
    never refused: it belongs to a transaction or a dialog). Each server transaction
    holds its request and timers for up to 64*T1 (32 s), so the caps bound memory.
    """

    max_transactions: int = 20_000
    max_per_source: int = 2_000
    retry_after: int = 5  # seconds, in the 503's Retry-After


# Stateless final responses kept for a retransmission of their request: at most this
# many, each for 64*T1 at most; bytes only, no timers.
REPLAY_ENTRIES = 4096


def _key(branch: str, method: str, sent_by: str = "") -> tuple[str, str, str]:
    # ACK matches the INVITE transaction it acknowledges (17.2.3).
    return (branch, "INVITE" if method == "ACK" else method, sent_by)


class ClientTransaction:
    """One request we sent and the responses it gets back.

    ``on_response`` sees every response (1xx and the final one); ``final`` resolves with
    the final response, or a synthesized 408 (timeout) / 503 (transport error).
    """

    def __init__(self, layer: TransactionLayer, request: Request, peer: Peer) -> None:
        self.layer = layer
        self.request = request
        self.peer = peer
        self.branch = request.top_via.branch or ""
        self.method = request.method
        self.state: TransactionState = _CALLING if self.method == "INVITE" else _TRYING
        self.final: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.on_response: Callable[[Response], None] | None = None
        self.last_provisional: Response | None = None
        self._data = request.to_bytes()
        self._retransmit: asyncio.TimerHandle | None = None
        self._timeout: asyncio.TimerHandle | None = None
        self._backstop = False  # an INVITE's timer C armed after timer B in Proceeding
        self._interval = layer.timers.t1
        self._ack: bytes | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return _key(self.branch, self.method)

    def start(self) -> None:
        t = self.layer.timers
        self._send()
        if self.peer.transport == "UDP":
            self._retransmit = self.layer.loop.call_later(self._interval, self._on_retransmit)
        # Timer B / F
        self._timeout = self.layer.loop.call_later(64 * t.t1, self._on_timeout)

    def _send(self) -> None:
        try:
            self.layer.transport.send(self._data, self.peer)
        except SipError as exc:
            self._fail(503, f"Service Unavailable ({exc})")

    def _on_retransmit(self) -> None:
        if self.state not in _AWAITING_FINAL:
            return
        if self.method == "INVITE" and self.state == _PROCEEDING:
            return  # timer A stops on a provisional response
        self._send()
        t = self.layer.timers
        if self.method == "INVITE":
            self._interval *= 2
        else:
            self._interval = t.t2 if self.state == _PROCEEDING else min(2 * self._interval, t.t2)
        self._retransmit = self.layer.loop.call_later(self._interval, self._on_retransmit)

    def _on_timeout(self) -> None:
        if self.method == "INVITE" and self.state == _PROCEEDING and not self._backstop:
            # Timer B ends only a Calling INVITE (17.1.1.2): a ringing one goes on until
            # the TU's ring timeout CANCELs it. A backstop like a proxy's timer C (16.6,
            # over 3 minutes) still ends one whose peer vanished and never answers CANCEL.
            self._backstop = True
            self._timeout = self.layer.loop.call_later(self.layer.timers.c, self._on_timeout)
            return
        if self.state in _AWAITING_FINAL:
            self._fail(408, "Request Timeout")

    def _fail(self, status: int, reason: str) -> None:
        response = self.request.make_response(status, reason)
        self._terminate()
        self._deliver(response)

    def _deliver(self, response: Response) -> None:
        if self.on_response is not None:
            try:
                self.on_response(response)
            except Exception:
                log.exception("on_response failed")
        if response.status >= 200:
            # the one final response the TU hears: a transaction lingering through
            # timer D/K need not keep its callback (and the call it closes over) alive
            self.on_response = None
            if not self.final.done():
                self.final.set_result(response)

    def cancel_timers(self) -> None:
        for handle in (self._retransmit, self._timeout):
            if handle is not None:
                handle.cancel()
        # a cancelled handle (and its context copy) is dead weight for the linger
        self._retransmit = self._timeout = None

    def _terminate(self) -> None:
        self.state = _TERMINATED
        self.cancel_timers()
        self.layer._client.pop(self.key, None)

    def receive(self, response: Response) -> None:
        status = response.status
        if self.state == _COMPLETED:
            # a retransmitted final response: repeat our ACK (INVITE) or ignore
            if self._ack is not None:
                self.layer.transport.send(self._ack, self.peer)
            return
        if self.state == _TERMINATED:
            return
        if status < 200:
            self.state = _PROCEEDING
            self.last_provisional = response
            self._deliver(response)
            return
        if self.method == "INVITE":
            if status < 300:
                # 2xx: the TU acknowledges it; RFC 6026 keeps us to absorb retransmissions.
                self._terminate()
                self._deliver(response)
                return
            self._ack = self._make_ack(response).to_bytes()
            self.layer.transport.send(self._ack, self.peer)
            self._enter_completed(32.0 if self.peer.transport == "UDP" else 0.0)  # timer D
        else:
            self._enter_completed(self.layer.timers.t4 if self.peer.transport == "UDP" else 0.0)
        self._deliver(response)

    def _enter_completed(self, linger: float) -> None:
        self.state = _COMPLETED
        self.cancel_timers()
        if linger:
            self.layer.loop.call_later(linger, self._terminate)
        else:
            self._terminate()

    def _make_ack(self, response: Response) -> Request:
        """Hop-by-hop ACK for a non-2xx final response (17.1.1.3)."""
        req = self.request
        ack = Request("ACK", req.uri, Headers(), b"")
        ack.headers.add("Via", req.headers.get_all("Via")[0])
        for name in ("From", "Call-ID"):
            ack.headers.add(name, req.headers.get(name) or "")
        ack.headers.add("To", response.headers.get("To") or "")
        ack.headers.add("CSeq", f"{req.cseq[0]} ACK")
        for route in req.headers.get_all("Route"):
            ack.headers.add("Route", route)
        ack.headers.add("Max-Forwards", "70")
        return ack


class ServerTransaction:
    """One request we received; ``respond`` sends and keeps what retransmissions need."""

    def __init__(
        self,
        layer: TransactionLayer,
        request: Request,
        peer: Peer,
        key: tuple[str, str, str] | None = None,
    ) -> None:
        self.layer = layer
        self.request = request
        self.peer = peer
        self.method = request.method
        if key is None:
            via = request.top_via
            key = _key(via.branch or "", self.method, f"{via.host}:{via.port or 5060}")
        self._key = key
        self.state: TransactionState = _PROCEEDING if self.method == "INVITE" else _TRYING
        self.last_response: Response | None = None
        self.cancelled = False
        self.on_cancel: Callable[[], None] | None = None
        self.on_ack_timeout: Callable[[], None] | None = None
        self._retransmit: asyncio.TimerHandle | None = None
        self._timeout: asyncio.TimerHandle | None = None
        self._interval = layer.timers.t1

    @property
    def key(self) -> tuple[str, str, str]:
        """The layer's key for it: with an RFC 2543 peer's branch-less Via, not the
        Via's branch (TransactionLayer._handle_request), so it is kept, not recomputed."""
        return self._key

    @property
    def final_sent(self) -> bool:
        return self.last_response is not None and self.last_response.status >= 200

    def respond(self, response: Response) -> None:
        if self.state not in _AWAITING_FINAL:
            log.debug("late response %d ignored (state %s)", response.status, self.state)
            return
        self.last_response = response
        self._send(response)
        if response.status < 200:
            return
        # A final response ends what the TU hears of a CANCEL: let go of it, so a
        # transaction absorbing retransmissions for 32 s does not keep the whole call
        # (dialog, channels, RTP sessions) alive, nor make it garbage for the collector.
        self.on_cancel = None
        t = self.layer.timers
        udp = self.peer.transport == "UDP"
        if self.method != "INVITE":
            self.state = _COMPLETED
            self._linger(64 * t.t1 if udp else 0.0)  # timer J
        elif response.status < 300:
            self.state = _ACCEPTED
            self.on_ack_timeout = None  # timer H runs for non-2xx only
            self._linger(64 * t.t1)  # timer L (RFC 6026)
        else:
            self.state = _COMPLETED
            if udp:
                self._retransmit = self.layer.loop.call_later(self._interval, self._on_timer_g)
            self._timeout = self.layer.loop.call_later(64 * t.t1, self._on_timer_h)

    def respond_stateless(self, response: Response) -> None:
        """Answer and forget, as a stateless proxy does (RFC 3261 16.11, 8.2.6): for a
        challenge or a refusal of a request that goes no further. No transaction stays
        behind, so the final response is never retransmitted; a retransmitted request is
        answered with the same bytes from a small bounded cache of these replies (as a
        transaction would: a new To tag and nonce would read as a second answer), and the
        ACK of a non-2xx goes to the TU, which finds no dialog and drops it."""
        if self.state not in _AWAITING_FINAL:
            log.debug("late response %d ignored (state %s)", response.status, self.state)
            return
        self.last_response = response
        if response.status < 200:
            self._send(response)
            return
        transport = self.layer.transport
        data = response.to_bytes()
        try:
            destination = transport.response_destination(response, self.peer)
            transport.send(data, destination)
        except SipError as exc:
            log.info("cannot send %d response: %s", response.status, exc)
        else:
            if self.peer.transport == "UDP":
                self.layer._remember(self.key, data, destination)
        self._terminate()

    def _send(self, response: Response) -> None:
        self.layer.transport.send_response(response, self.peer)

    def _linger(self, seconds: float) -> None:
        if seconds:
            self.layer.loop.call_later(seconds, self._terminate)
        else:
            self._terminate()

    def _on_timer_g(self) -> None:
        if self.state != _COMPLETED or self.last_response is None:
            return
        self._send(self.last_response)
        self._interval = min(2 * self._interval, self.layer.timers.t2)
        self._retransmit = self.layer.loop.call_later(self._interval, self._on_timer_g)

    def _on_timer_h(self) -> None:
        if self.state == _COMPLETED:
            log.info("no ACK for %s final response", self.request.call_id)
            if self.on_ack_timeout:
                self.on_ack_timeout()
            self._terminate()

    def _terminate(self) -> None:
        self.state = _TERMINATED
        for handle in (self._retransmit, self._timeout):
            if handle is not None:
                handle.cancel()
        self.on_cancel = self.on_ack_timeout = None
        self.layer._forget(self)

    def _trying(self) -> None:
        if self.state is _PROCEEDING and self.last_response is None:
            self.respond(self.request.make_response(100, "Trying"))

    def retransmission(self) -> None:
        """The same request arrived again: repeat the last response, if any."""
        if self.last_response is not None and self.state != _ACCEPTED:
            self._send(self.last_response)

    def ack(self) -> None:
        if self.state == _COMPLETED:
            self.state = _CONFIRMED
            if self._retransmit:
                self._retransmit.cancel()
            if self._timeout:
                self._timeout.cancel()
            self._retransmit = self._timeout = None
            udp = self.peer.transport == "UDP"
            self._linger(self.layer.timers.t4 if udp else 0.0)  # timer I

    def cancel(self) -> None:
        self.cancelled = True
        if self.on_cancel is not None:
            self.on_cancel()


RequestHandler = Callable[[ServerTransaction], None]
StrayAckHandler = Callable[[Request, Peer], None]
StrayResponseHandler = Callable[[Response, Peer], None]


class TransactionLayer:
    """Dispatches messages between the transport and the transaction user."""

    def __init__(
        self,
        transport: Transport,
        on_request: RequestHandler,
        on_ack: StrayAckHandler,
        on_stray_response: StrayResponseHandler,
        timers: Timers | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.transport = transport
        self.on_request = on_request
        self.on_ack = on_ack
        self.on_stray_response = on_stray_response
        self.timers = timers or Timers()
        self.limits = limits or Limits()
        self.loop = asyncio.get_event_loop()
        self._client: dict[tuple[str, str, str], ClientTransaction] = {}
        self._server: dict[tuple[str, str, str], ServerTransaction] = {}
        self._per_source: dict[str, int] = {}  # live server transactions by source host
        # asked (host, port) of a source at its cap: True lets it go on up to the total
        # cap (a trunk, an authenticated office NAT: many calls are many transactions)
        self.uncapped: Callable[[str, int], bool] = lambda host, port: False
        self.refused = 0  # requests answered 503 because a cap was reached
        # transaction key -> (until, bytes, destination) of a stateless final response
        self._replies: dict[tuple[str, str, str], tuple[float, bytes, Peer]] = {}

    @property
    def server_transactions(self) -> int:
        """Live server transactions (each holds its request for up to 32 s)."""
        return len(self._server)

    def source_transactions(self, host: str) -> int:
        return self._per_source.get(host, 0)

    def _forget(self, st: ServerTransaction) -> None:
        key = st.key
        if self._server.get(key) is not st:
            return
        del self._server[key]
        host = st.peer.host
        count = self._per_source[host] - 1
        if count:
            self._per_source[host] = count
        else:
            del self._per_source[host]

    def _remember(self, key: tuple[str, str, str], data: bytes, destination: Peer) -> None:
        replies = self._replies
        if len(replies) >= REPLAY_ENTRIES:
            del replies[next(iter(replies))]  # the oldest
        replies[key] = (self.loop.time() + 64 * self.timers.t1, data, destination)

    def _replay(self, key: tuple[str, str, str]) -> bool:
        """A retransmission of a request answered statelessly: the same answer again."""
        until, data, destination = self._replies[key]
        if self.loop.time() >= until:
            del self._replies[key]
            return False
        try:
            self.transport.send(data, destination)
        except SipError as exc:
            log.debug("cannot repeat a response: %s", exc)
        return True

    def _refuse_busy(self, request: Request, peer: Peer) -> None:
        """A cap is reached: 503 + Retry-After, sent without a transaction."""
        self.refused += 1
        response = request.make_response(503, "Service Unavailable")
        response.headers.add("Retry-After", str(self.limits.retry_after))
        try:
            self.transport.send_response(response, peer)
        except SipError as exc:
            log.debug("cannot send 503: %s", exc)

    def send_request(self, request: Request, peer: Peer) -> ClientTransaction:
        """Start a client transaction (the request must carry its own top Via)."""
        self.loop = asyncio.get_running_loop()
        ct = ClientTransaction(self, request, peer)
        self._client[ct.key] = ct
        ct.start()
        return ct

    def send_stateless(self, request: Request, peer: Peer) -> None:
        """ACK for a 2xx goes outside any transaction (17.1.1.3)."""
        try:
            self.transport.send(request.to_bytes(), peer)
        except SipError as exc:
            log.info("cannot send %s: %s", request.method, exc)

    def handle(self, message: Request | Response, peer: Peer) -> None:
        """Entry point for every parsed message from the transport."""
        if isinstance(message, Response):
            self._handle_response(message, peer)
        else:
            self._handle_request(message, peer)

    def _handle_response(self, response: Response, peer: Peer) -> None:
        via = response.top_via
        ct = self._client.get(_key(via.branch or "", response.cseq[1]))
        if ct is not None:
            ct.receive(response)
        else:
            self.on_stray_response(response, peer)

    def _handle_request(self, request: Request, peer: Peer) -> None:
        via = request.top_via
        sent_by = f"{via.host}:{via.port or 5060}"
        branch = via.branch or ""
        if not branch.startswith("z9hG4bK"):
            # RFC 2543 peers: fall back to a key that still separates transactions
            branch = f"{request.call_id}|{request.cseq[0]}|{request.from_addr.tag}"
        method = request.method
        if method == "ACK":
            st = self._server.get(_key(branch, "ACK", sent_by))
            if st is not None and st.state in (_COMPLETED, _CONFIRMED):
                st.ack()
                return
            self.on_ack(request, peer)  # ACK for a 2xx: the dialog's business
            return
        key = _key(branch, method, sent_by)
        st = self._server.get(key)
        if st is not None:
            st.retransmission()
            return
        if key in self._replies and self._replay(key):
            return
        host = peer.host
        per_source = self._per_source.get(host, 0)
        if len(self._server) >= self.limits.max_transactions or (
            per_source >= self.limits.max_per_source and not self.uncapped(host, peer.port)
        ):
            self._refuse_busy(request, peer)
            return
        self._per_source[host] = per_source + 1
        if method == "CANCEL":
            self._handle_cancel(request, peer, branch, sent_by)
            return
        st = ServerTransaction(self, request, peer, key)
        self._server[key] = st
        self.on_request(st)
        if method == "INVITE" and st.state is _PROCEEDING and st.last_response is None:
            # 17.2.1: a 100 unless the TU answers within 200 ms. A TU that answers from
            # a task it just spawned (a challenge, a refusal) runs before this callback,
            # so a stateless 401 goes out alone, not after a 100 that doubles the reply.
            self.loop.call_soon(st._trying)

    def _handle_cancel(self, request: Request, peer: Peer, branch: str, sent_by: str) -> None:
        key = _key(branch, "CANCEL", sent_by)
        st = ServerTransaction(self, request, peer, key)
        self._server[key] = st
        invite = self._server.get(_key(branch, "INVITE", sent_by))
        if invite is None or invite.final_sent:
            st.respond(request.make_response(481, "Call/Transaction Does Not Exist"))
            return
        st.respond(request.make_response(200, "OK"))
        invite.cancel()
        if not invite.final_sent:
            # The TU may not care: RFC 3261 9.2 says the INVITE gets a 487 either way,
            # with the To tag of any provisional response already sent.
            last = invite.last_response
            tag = last.to_addr.tag if last is not None else None
            invite.respond(invite.request.make_response(487, "Request Terminated", to_tag=tag))

    def close(self) -> None:
        for ct in list(self._client.values()):
            ct.cancel_timers()
            if not ct.final.done():
                # no answer will come now: whoever waits for one (a fork still ringing at
                # shutdown) stops waiting, instead of a task left pending when the loop closes
                ct.final.cancel()
        for st in list(self._server.values()):
            st._terminate()
        self._per_source.clear()
        self._replies.clear()
