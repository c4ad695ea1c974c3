"""UDP and TCP transports on one port (RFC 3261 section 18, RFC 3581).

Incoming bytes become parsed messages handed to one callback together with the
``Peer`` they came from; outgoing requests go to an address, and responses are
routed back per RFC 3261 18.2.2 (the connection they came on for TCP, else
``received``/``rport`` of the top Via).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import SipError, SipParseError
from .framing import StreamFramer
from .message import Request, Response
from .parser import parse_message
from .via import Via

log = logging.getLogger("softswitch.sip.transport")

MAX_UDP_SIZE = 65_507


@dataclass(slots=True, frozen=True)
class Peer:
    """Where a message came from, or where one is going."""

    transport: str  # "UDP" | "TCP"
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport.lower()}:{self.host}:{self.port}"


MessageHandler = Callable[[Request | Response, Peer], None]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: Transport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.owner._received(data, Peer("UDP", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and friends: the transaction timers handle it.
        log.debug("udp error: %s", exc)


class _TcpConnection(asyncio.Protocol):
    def __init__(self, owner: Transport) -> None:
        self.owner = owner
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.peer: Peer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Peer("TCP", host, port)
        self.owner._connections[(host, port)] = self

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None
        try:
            messages = self.framer.feed(data)
        except SipParseError as exc:
            # The stream has lost its framing: nothing after this point can be trusted.
            log.warning("closing %s: %s", self.peer, exc.reason)
            if self.transport:
                self.transport.close()
            return
        for raw in messages:
            self.owner._received(raw, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self.owner._connections.pop((self.peer.host, self.peer.port), None)

    def send(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise SipError(f"connection to {self.peer} is closed")
        self.transport.write(data)


class Transport:
    """One UDP socket and one TCP listener bound to the same address and port."""

    def __init__(self, host: str, port: int, on_message: MessageHandler) -> None:
        self.host = host
        self.port = port
        self.on_message = on_message
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: dict[tuple[str, int], _TcpConnection] = {}

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self), local_addr=(self.host, self.port)
        )
        bound = self._udp.get_extra_info("sockname")
        self.port = bound[1]
        self._tcp = await loop.create_server(
            lambda: _TcpConnection(self), self.host, self.port, reuse_address=True
        )

    async def stop(self) -> None:
        for conn in list(self._connections.values()):
            if conn.transport:
                conn.transport.close()
        if self._tcp:
            self._tcp.close()
        if self._udp:
            self._udp.close()

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
                self._stamp_via(request, peer)
                self.send_response(request.make_response(exc.status, exc.reason), peer)
            return
        if isinstance(msg, Request):
            self._stamp_via(msg, peer)
        try:
            self.on_message(msg, peer)
        except Exception:  # a bug handling one message must not kill the listener
            log.exception("error handling message from %s", peer)

    @staticmethod
    def _stamp_via(request: Request, peer: Peer) -> None:
        """RFC 3261 18.2.1 and RFC 3581: note where the request really came from."""
        vias = request.headers.get_all("Via")
        if not vias:
            return
        via = Via.parse(vias[0])
        changed = False
        if via.host != peer.host:
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

    # -- sending ------------------------------------------------------------

    def local_via(self, transport: str, advertised: str) -> str:
        return f"SIP/2.0/{transport} {advertised}:{self.port}"

    def send(self, data: bytes, peer: Peer) -> None:
        """Send raw bytes; raises SipError when the destination cannot be reached."""
        if peer.transport == "TCP":
            conn = self._connections.get((peer.host, peer.port))
            if conn is None:
                raise SipError(f"no TCP connection to {peer}")
            conn.send(data)
            return
        if self._udp is None:
            raise SipError("transport not started")
        if len(data) > MAX_UDP_SIZE:
            raise SipError("message too large for UDP")
        self._udp.sendto(data, (peer.host, peer.port))

    async def connect(self, peer: Peer) -> Peer:
        """Make sure a TCP connection to ``peer`` exists (no-op for UDP)."""
        if peer.transport != "TCP" or (peer.host, peer.port) in self._connections:
            return peer
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: _TcpConnection(self), peer.host, peer.port)
        except OSError as exc:
            raise SipError(f"cannot connect to {peer}: {exc}") from exc
        return peer

    def send_response(self, response: Response, peer: Peer | None = None) -> None:
        """Route a response per RFC 3261 18.2.2 and RFC 3581 section 4."""
        try:
            self.send(response.to_bytes(), self.response_destination(response, peer))
        except SipError as exc:
            log.info("cannot send %d response: %s", response.status, exc)

    def response_destination(self, response: Response, peer: Peer | None) -> Peer:
        via = response.top_via
        if via.transport.upper() == "TCP":
            if peer is not None and (peer.host, peer.port) in self._connections:
                return peer
            received = via.params.get("received") or via.host
            return Peer("TCP", received, via.port or 5060)
        host = via.params.get("received") or via.host
        rport = via.params.get("rport")
        if rport:
            return Peer("UDP", host, int(rport))
        return Peer("UDP", host, via.port or 5060)
