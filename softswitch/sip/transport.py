"""UDP and TCP transports on one port, TLS on another (RFC 3261 sections 18 and 26, RFC 3581).

Incoming bytes become parsed messages handed to one callback together with the
``Peer`` they came from; outgoing requests go to an address, and responses are
routed back per RFC 3261 18.2.2 (the connection they came on for TCP and TLS, else
``received``/``rport`` of the top Via). TLS is the TCP stream code over an SSL
layer: a phone registered over TLS is reached over its own connection, as one
registered over TCP is.

Dual stack: a wildcard listen address (0.0.0.0 or ::) gets one socket per family
on the same port, the IPv6 ones with IPV6_V6ONLY (so IPv4 peers keep plain, not
v4-mapped, addresses), and each message leaves through the socket of its
destination's family. A machine without IPv6 just gets the IPv4 sockets.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from media.sockets import bound_socket

from .connection_limits import ConnectionGuard, ConnectionLimits, InUse
from .errors import SipError, SipParseError
from .framing import StreamFramer
from .message import Request, Response
from .parser import parse_message
from .via import Via

# binds of a port-0 listener tried before giving up (see Transport._listen)
EPHEMERAL_TRIES = 20

log = logging.getLogger("softswitch.sip.transport")

MAX_UDP_SIZE = 65_507
# The UDP socket's receive buffer we ask for. The kernel's default (~208 KiB) holds
# about 200 messages: at 300 calls/s (2,400 datagrams/s) any stall of the loop longer
# than ~80 ms (a collection, a burst of call set-ups) dropped datagrams, and each drop
# is a retransmission 500 ms later or a failed call. Linux caps it at
# net.core.rmem_max (4 MiB on most distributions); asking for more costs nothing.
UDP_RECEIVE_BUFFER = 8 * 1024 * 1024
TLS_HANDSHAKE_TIMEOUT = 10.0  # seconds a client may take to finish its TLS handshake
WILDCARD4 = ("", "0.0.0.0")
WILDCARD6 = "::"


def listen_hosts(host: str) -> tuple[str, ...]:
    """The addresses a listen host binds: both wildcards for a wildcard (the
    configured family first: it must bind, the other is best effort), else itself."""
    if host in WILDCARD4:
        return ("0.0.0.0", WILDCARD6)
    if host == WILDCARD6:
        return (WILDCARD6, "0.0.0.0")
    return (host,)


@dataclass(slots=True, frozen=True)
class Peer:
    """Where a message came from, or where one is going."""

    transport: str  # "UDP" | "TCP" | "TLS"
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport.lower()}:{self.host}:{self.port}"


MessageHandler = Callable[[Request | Response, Peer], None]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: Transport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        admit = self.owner.admit
        if admit is not None and not admit(addr[0], addr[1]):
            return  # a flooding source: dropped before parsing (softswitch.sip.flood)
        self.owner._received(data, Peer("UDP", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and friends: the transaction timers handle it.
        log.debug("udp error: %s", exc)


class _StreamConnection(asyncio.Protocol):
    """One TCP connection: a framer feeding the owner, keyed by its Peer.

    An accepted one is admitted by the owner's ConnectionGuard (or aborted at once)
    and watched by its sweep: ``heard`` is when it last sent anything, ``waiting``
    since when it owes the rest of a message (from its opening until its first one).
    """

    kind = "TCP"

    def __init__(self, owner: Transport, *, accepted: bool = False) -> None:
        self.owner = owner
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.peer: Peer | None = None
        self.accepted = accepted
        self.source: str | None = None  # the address counted by the guard, once admitted
        self.heard = self.waiting = time.monotonic()
        self.waiting_for_first = True

    def _admit(self, transport: asyncio.BaseTransport) -> Peer | None:
        """The connection's Peer, or None when it is over the caps (then it is aborted)."""
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        host, port = transport.get_extra_info("peername")[:2]
        if self.accepted:
            if not self.owner.guard.admit(host):
                transport.abort()  # type: ignore[attr-defined]  # its descriptor, now
                return None
            self.source = host
            self.owner._inbound.add(self)
        return Peer(self.kind, host, port)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.peer = self._admit(transport)
        if self.peer is not None:
            self.owner._connections[self.peer] = self

    def data_received(self, data: bytes) -> None:
        """Application bytes: cut into messages and hand them to the owner."""
        assert self.peer is not None and self.transport is not None
        self.heard = now = time.monotonic()
        was_empty = not self.framer.buffered
        try:
            messages = self.framer.feed(data)
        except SipParseError as exc:
            # The stream has lost its framing: nothing after this point can be trusted.
            log.warning("closing %s: %s", self.peer, exc.reason)
            self._refuse(data, exc)
            self.transport.close()
            return
        if messages:
            self.waiting_for_first = False
            self.waiting = now
        elif was_empty and not self.waiting_for_first:
            self.waiting = now  # a new message's first bytes start its clock
        if self.framer.pings:
            self._pong()
        for raw in messages:
            self.owner._received(raw, self.peer)

    def _pong(self) -> None:
        """RFC 5626 3.5.1: a double-CRLF ping is answered at once by a single CRLF."""
        count, self.framer.pings = self.framer.pings, 0
        try:
            self.send(b"\r\n" * count)
        except SipError:
            return
        self.owner.pongs_sent += count

    def _refuse(self, data: bytes, exc: SipParseError) -> None:
        """Tell the peer why before closing, when the request whose framing broke
        (a negative or missing Content-Length, RFC 4475 3.1.2.3) is all in ``data``:
        a request answered is better than one the peer retransmits for 32 s."""
        assert self.peer is not None
        try:
            request: Request | Response | None = parse_message(data)
        except SipParseError as error:
            request = error.request
        if isinstance(request, Request):
            self.owner._answer_malformed(request, exc, self.peer)

    def pause_writing(self) -> None:
        """The peer does not read what we send: stop reading what it sends (each request
        read is a response written), so its unread answers cannot grow without bound."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def stalled(self, now: float, timeout: float) -> bool:
        """True when it has owed a message (its first, or the rest of one) too long."""
        if not self.waiting_for_first and not self.framer.buffered:
            return False
        return now - self.waiting > timeout

    def connection_lost(self, exc: Exception | None) -> None:
        if self.source is not None:
            self.owner.guard.release(self.source)
            self.owner._inbound.discard(self)
            self.source = None
        if self.peer is not None and self.owner._connections.get(self.peer) is self:
            del self.owner._connections[self.peer]
            for listener in self.owner.closed_listeners:
                listener(self.peer)

    def send(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise SipError(f"connection to {self.peer} is closed")
        self.transport.write(data)


class _TlsConnection(_StreamConnection):
    """One TLS connection: the TCP stream code over an SSLObject and two memory BIOs.

    The TLS layer is driven here rather than by the loop's start_tls/ssl= so that it
    behaves the same on asyncio and uvloop, runs no task per connection, and a failed
    handshake (plain text on the TLS port, a client that does not trust us, a silent
    scanner cut at the timeout) is one log line with its reason.
    """

    kind = "TLS"

    def __init__(
        self,
        owner: Transport,
        context: ssl.SSLContext,
        *,
        server_hostname: str | None = None,
        ready: asyncio.Future[None] | None = None,
    ) -> None:
        super().__init__(owner, accepted=ready is None)
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=ready is None,
            server_hostname=server_hostname,
        )
        self._ready = ready  # client side: resolved when the handshake is over
        self._secure = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.peer = self._admit(transport)
        if self.peer is None:
            return
        self.owner._handshaking.add(self)
        self._timer = asyncio.get_running_loop().call_later(
            self.owner.tls_handshake_timeout, self._timed_out
        )
        if self._ready is not None:
            self._handshake()  # the client speaks first

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        if not self._secure:
            self._handshake()
            if not self._secure:
                return
        chunks = []
        while True:
            try:
                chunk = self._ssl.read(65536)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:  # close_notify
                self._close()
                break
            except ssl.SSLError as exc:
                log.info("closing %s: %s", self.peer, _reason(exc))
                self._close()
                return
            if not chunk:  # how SSLObject.read reports the peer's close_notify
                self._close()
                break
            chunks.append(chunk)
        self._flush()
        if chunks:
            _StreamConnection.data_received(self, b"".join(chunks))

    def _handshake(self) -> None:
        try:
            self._ssl.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except (ssl.SSLError, OSError) as exc:
            self._flush()  # the alert tells the peer why
            self._failed(exc)
            return
        self._flush()
        self._secure = True
        self._stop_timer()
        assert self.peer is not None
        self.owner._handshaking.discard(self)
        self.owner._connections[self.peer] = self
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    def _timed_out(self) -> None:
        self._timer = None
        self._failed(TimeoutError(f"no handshake in {self.owner.tls_handshake_timeout:g}s"))

    def _failed(self, exc: BaseException) -> None:
        self._stop_timer()
        self.owner._handshaking.discard(self)
        if self._ready is not None:
            if not self._ready.done():
                self._ready.set_exception(exc)  # connect() reports it
        else:
            self.owner.failed_handshakes += 1
            log.info("TLS handshake with %s failed: %s", self.peer, _reason(exc))
        self._close()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._secure and (self._timer is not None or self._ready is not None):
            self._failed(exc or ConnectionResetError("closed during the TLS handshake"))
        self._stop_timer()
        self.owner._handshaking.discard(self)
        super().connection_lost(exc)

    def send(self, data: bytes) -> None:
        if not self._secure or self.transport is None or self.transport.is_closing():
            raise SipError(f"connection to {self.peer} is closed")
        try:
            self._ssl.write(data)
        except ssl.SSLError as exc:
            self._close()
            raise SipError(f"connection to {self.peer} failed: {_reason(exc)}") from exc
        self._flush()


@dataclass(slots=True, frozen=True)
class TlsClient:
    """How to open a TLS connection to one destination: its context and expected name."""

    context: ssl.SSLContext
    server_hostname: str | None


class Transport:
    """One UDP socket and one TCP listener bound to the same address and port, and
    optionally a TLS listener on ``tls_port``.

    Accepted TCP/TLS connections are capped and timed out per ``limits``
    (softswitch.sip.connection_limits); ``in_use`` tells which idle ones to keep.
    """

    def __init__(
        self,
        host: str,
        port: int,
        on_message: MessageHandler,
        tls_context: ssl.SSLContext | None = None,
        tls_host: str = "",
        tls_port: int = 0,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.on_message = on_message
        self.tls_context = tls_context  # the listener's; None = no TLS listener
        self.tls_host = tls_host or host
        self.tls_port = tls_port
        # outgoing TLS per destination (a trunk's CA and name); others verify by default
        self.tls_clients: dict[tuple[str, int], TlsClient] = {}
        self.failed_handshakes = 0
        self.pongs_sent = 0  # answers to the peers' RFC 5626 CRLF pings
        # told the Peer of every TCP/TLS connection that closes, for either side's reason
        self.closed_listeners: list[Callable[[Peer], None]] = []
        self.tls_handshake_timeout = TLS_HANDSHAKE_TIMEOUT
        # asked (host, port) of every datagram before it is parsed: False drops it
        self.admit: Callable[[str, int], bool] | None = None
        self._udp: asyncio.DatagramTransport | None = None  # IPv4
        self._udp6: asyncio.DatagramTransport | None = None  # IPv6
        self._servers: list[asyncio.Server] = []  # TCP and TLS listeners, each family
        self._handshaking: set[_TlsConnection] = set()
        self._connections: dict[Peer, _StreamConnection] = {}
        self.guard = ConnectionGuard(limits or ConnectionLimits())
        # the owner's word on idle connections: which still carry something (a flow)
        self.in_use: InUse = _none_in_use
        self._inbound: set[_StreamConnection] = set()  # admitted, TLS handshakes too
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        """Bind UDP and TCP (and TLS); on a wildcard also the other family's wildcard
        when the machine has it. The configured family's failure propagates."""
        self.guard.fit_open_files()
        first, *others = listen_hosts(self.host)
        # Port 0 on a wildcard: the port the first family got may be taken in the other
        # one; pick again rather than listen on one family only.
        tries = EPHEMERAL_TRIES if self.port == 0 and others else 1
        for attempt in range(tries):
            await self._listen(first)
            if await self._listen_others(others, retry=attempt < tries - 1):
                break
            self._unlisten()
        if self.tls_context is not None:
            first, *others = listen_hosts(self.tls_host)
            await self._listen_tls(first, self.tls_context)
            for host in others:
                try:
                    await self._listen_tls(host, self.tls_context)
                except OSError as exc:
                    log.info("no TLS listener on %s port %d: %s", host, self.tls_port, exc)
        self._schedule_sweep()

    async def _listen_others(self, hosts: list[str], retry: bool) -> bool:
        """The other family's wildcard, best effort; False when its port was taken and
        `retry` says the caller will pick another port."""
        for host in hosts:
            try:
                await self._listen(host)
            except OSError as exc:
                if retry and exc.errno == errno.EADDRINUSE:
                    return False
                log.info("no SIP listener on %s port %d: %s", host, self.port, exc)
        return True

    def _unlisten(self) -> None:
        """Close the listeners made so far (start picks another port)."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for udp in (self._udp, self._udp6):
            if udp is not None:
                udp.close()
        self._udp = self._udp6 = None
        self.port = 0

    @property
    def families(self) -> tuple[str, ...]:
        """The address families we listen on over UDP: "IPv4", "IPv6" or both."""
        return tuple(
            name for name, udp in (("IPv4", self._udp), ("IPv6", self._udp6)) if udp is not None
        )

    async def _listen(self, host: str) -> None:
        """UDP and TCP on ``host`` at our port (the first bind picks it when it is 0)."""
        loop = asyncio.get_running_loop()
        # Port 0: the kernel picks a free UDP port, which another program may hold for
        # TCP; pick again a few times rather than fail (a fixed port fails at once).
        tries = 1 if self.port else EPHEMERAL_TRIES
        for attempt in range(tries):
            udp_sock = bound_socket(socket.SOCK_DGRAM, host, self.port)
            try:
                tcp_sock = bound_socket(socket.SOCK_STREAM, host, udp_sock.getsockname()[1])
                break
            except OSError as exc:
                udp_sock.close()
                if exc.errno != errno.EADDRINUSE or attempt == tries - 1:
                    raise
            except BaseException:
                udp_sock.close()
                raise
        try:
            server = await loop.create_server(
                lambda: _StreamConnection(self, accepted=True), sock=tcp_sock
            )
        except BaseException:
            udp_sock.close()
            tcp_sock.close()
            raise
        self._servers.append(server)
        _grow_receive_buffer(udp_sock)
        udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=udp_sock)
        self.port = udp_sock.getsockname()[1]
        if udp_sock.family == socket.AF_INET6:
            self._udp6 = udp
        else:
            self._udp = udp

    async def _listen_tls(self, host: str, context: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        sock = bound_socket(socket.SOCK_STREAM, host, self.tls_port)
        self.tls_port = sock.getsockname()[1]
        self._servers.append(
            await loop.create_server(lambda: _TlsConnection(self, context), sock=sock)
        )

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        handshaking, self._handshaking = self._handshaking, set()
        for handshake in handshaking:
            handshake._stop_timer()  # closed by us: not a failure to report
        for conn in [*handshaking, *self._connections.values()]:
            if conn.transport:
                conn.transport.close()
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for udp in (self._udp, self._udp6):
            if udp:
                udp.close()

    @property
    def inbound_connections(self) -> int:
        """Accepted TCP/TLS connections open now (each holds a descriptor)."""
        return self.guard.total

    def _schedule_sweep(self) -> None:
        self._sweeper = asyncio.get_running_loop().call_later(
            self.guard.limits.sweep_interval, self._sweep
        )

    def _sweep(self) -> None:
        """Close the accepted connections past their timeouts; one log line for all."""
        self._schedule_sweep()
        limits = self.guard.limits
        now = time.monotonic()
        stalled: list[_StreamConnection] = []
        idle: dict[tuple[str, str, int], _StreamConnection] = {}
        for conn in self._inbound:
            if conn.stalled(now, limits.message_timeout):
                stalled.append(conn)
            elif now - conn.heard > limits.idle_timeout and conn.peer is not None:
                idle[(conn.peer.transport, conn.peer.host, conn.peer.port)] = conn
        if idle:
            try:
                kept = self.in_use(list(idle))
            except Exception:  # the owner's bug must not stop the sweeps
                log.exception("cannot tell which idle SIP connections are in use")
                kept = set(idle)
            for key in kept:
                if key in idle:
                    idle.pop(key).heard = now  # asked again one idle_timeout from now
        self._close_all(stalled, f"no complete message in {limits.message_timeout:g}s")
        self._close_all(list(idle.values()), f"nothing heard in {limits.idle_timeout:g}s")

    def _close_all(self, conns: list[_StreamConnection], why: str) -> None:
        if not conns:
            return
        self.guard.timed_out += len(conns)
        sources = sorted({c.source or "?" for c in conns})
        shown = ", ".join(sources[:5])
        if len(sources) > 5:
            shown += f" and {len(sources) - 5} more"
        log.info("closing %d SIP connection(s) from %s: %s", len(conns), shown, why)
        for conn in conns:
            self._inbound.discard(conn)
            if conn.transport is not None:
                conn.transport.close()

    # -- receiving ----------------------------------------------------------

    def _received(self, data: bytes, peer: Peer) -> None:
        if not data.strip():
            return  # CRLF keep-alive
        try:
            msg = parse_message(data)
        except SipParseError as exc:
            request = exc.request
            log.info("malformed message from %s: %s", peer, exc.reason)
            if request is not None:
                self._answer_malformed(request, exc, peer)
            return
        if isinstance(msg, Request):
            self._stamp_parsed_via(msg, peer)
        try:
            self.on_message(msg, peer)
        except Exception:  # a bug handling one message must not kill the listener
            log.exception("error handling message from %s", peer)

    def _answer_malformed(self, request: Request, exc: SipParseError, peer: Peer) -> None:
        """Answer a request the parser refused but could read enough of."""
        try:
            self._stamp_via(request, peer)
        except SipParseError:
            # Only the top Via's sent-by was readable (RFC 4475 3.1.2.1): answer the
            # address the request came from, on the transport it came over.
            response = request.make_response(exc.status, exc.reason)
            try:
                self.send(response.to_bytes(), peer)
            except SipError as error:
                log.info("cannot send %d response: %s", response.status, error)
            return
        self.send_response(request.make_response(exc.status, exc.reason), peer)

    @staticmethod
    def _stamp_via(request: Request, peer: Peer) -> None:
        """RFC 3261 18.2.1 and RFC 3581: note where the request really came from."""
        vias = request.headers.get_all("Via")
        if not vias:
            return
        via = Via.parse(vias[0])
        changed = False
        if via.host.strip("[]") != peer.host:
            via.params["received"] = peer.host
            changed = True
        if "rport" in via.params:
            via.params["rport"] = str(peer.port)
            via.params["received"] = peer.host
            changed = True
        if changed:
            rest = vias[1:]
            request.headers.remove("Via")
            request.headers.add("Via", str(via))
            for value in rest:
                request.headers.add("Via", value)

    @staticmethod
    def _stamp_parsed_via(request: Request, peer: Peer) -> None:
        """_stamp_via for a request the parser accepted. A top Via alone on its line (the
        usual case) is stamped from the parser's view of it and put back in place, every
        other view kept: From, To, CSeq and Call-ID are not parsed a second time."""
        for index, (key, _, value) in enumerate(request.headers.entries()):
            if key == "via":
                if "," not in value:
                    Transport._stamp_top_via(request, peer, index)
                    return
                break
        Transport._stamp_via(request, peer)

    @staticmethod
    def _stamp_top_via(request: Request, peer: Peer, index: int) -> None:
        via = request.top_via
        host = peer.host
        rport = "rport" in via.params
        if not rport and via.host.strip("[]") == host:
            return
        params = dict(via.params)
        params["received"] = host
        if rport:
            params["rport"] = str(peer.port)
        stamped = Via(via.transport, via.host, via.port, params)
        request.headers.set_at(index, str(stamped), {"top_via": stamped}, ("vias",))

    # -- sending ------------------------------------------------------------

    def local_via(self, transport: str, advertised: str) -> str:
        return f"SIP/2.0/{transport} {advertised}:{self.port}"

    def send(self, data: bytes, peer: Peer) -> None:
        """Send raw bytes; raises SipError when the destination cannot be reached."""
        if peer.transport != "UDP":
            conn = self._connections.get(peer)
            if conn is None:
                raise SipError(f"no {peer.transport} connection to {peer}")
            conn.send(data)
            return
        udp = self._udp6 if ":" in peer.host else self._udp
        if udp is None:
            if self._udp is None and self._udp6 is None:
                raise SipError("transport not started")
            family = "IPv6" if ":" in peer.host else "IPv4"
            raise SipError(f"no {family} UDP socket to reach {peer}")
        if len(data) > MAX_UDP_SIZE:
            raise SipError("message too large for UDP")
        udp.sendto(data, (peer.host, peer.port))

    def ping(self, peer: Peer) -> None:
        """Send an RFC 5626 double-CRLF ping on the open TCP/TLS connection to ``peer``.

        Never opens a connection: raises SipError when there is none (the flow is gone).
        """
        conn = self._connections.get(peer)
        if conn is None:
            raise SipError(f"no {peer.transport} connection to {peer}")
        conn.send(b"\r\n\r\n")

    def pongs(self, peer: Peer) -> int | None:
        """The lone CRLFs (pongs) heard on the connection to ``peer``; None: no connection."""
        conn = self._connections.get(peer)
        return None if conn is None else conn.framer.pongs

    async def connect(self, peer: Peer) -> Peer:
        """Make sure a TCP or TLS connection to ``peer`` exists (no-op for UDP).

        TLS verifies the server's certificate: against ``tls_clients``' context and
        name for a configured destination (a trunk), else the system's CAs and the
        peer's address.
        """
        if peer.transport == "UDP" or peer in self._connections:
            return peer
        loop = asyncio.get_running_loop()
        try:
            if peer.transport == "TLS":
                client = self.tls_clients.get((peer.host, peer.port))
                context = client.context if client else ssl.create_default_context()
                hostname = client.server_hostname if client else peer.host
                ready: asyncio.Future[None] = loop.create_future()
                await loop.create_connection(
                    lambda: _TlsConnection(self, context, server_hostname=hostname, ready=ready),
                    peer.host,
                    peer.port,
                )
                await ready
            else:
                await loop.create_connection(lambda: _StreamConnection(self), peer.host, peer.port)
        except (OSError, TimeoutError) as exc:
            raise SipError(f"cannot connect to {peer}: {_reason(exc)}") from exc
        return peer

    def send_response(self, response: Response, peer: Peer | None = None) -> None:
        """Route a response per RFC 3261 18.2.2 and RFC 3581 section 4."""
        try:
            self.send(response.to_bytes(), self.response_destination(response, peer))
        except SipError as exc:
            log.info("cannot send %d response: %s", response.status, exc)

    def response_destination(self, response: Response, peer: Peer | None) -> Peer:
        if peer is not None and peer.transport != "UDP" and peer in self._connections:
            # the connection the request came on, whatever its Via claims (RFC 3261 18.2.2)
            return peer
        via = response.top_via
        kind = via.transport.upper()
        if kind in ("TCP", "TLS"):
            received = via.params.get("received") or via.host.strip("[]")
            return Peer(kind, received, via.port or (5061 if kind == "TLS" else 5060))
        host = via.params.get("received") or via.host.strip("[]")
        rport = via.params.get("rport")
        if rport:
            return Peer("UDP", host, int(rport))
        return Peer("UDP", host, via.port or 5060)


def _none_in_use(keys: list[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
    return set()


def _reason(exc: BaseException) -> str:
    """A one-line cause: the SSL reason ("CERTIFICATE_VERIFY_FAILED ...") when there is one."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _grow_receive_buffer(sock: socket.socket) -> None:
    """Ask for UDP_RECEIVE_BUFFER (the kernel gives what net.core.rmem_max allows)."""
    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= UDP_RECEIVE_BUFFER:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
    except OSError as exc:  # not on every platform; the default still works
        log.debug("SO_RCVBUF not raised: %s", exc)
