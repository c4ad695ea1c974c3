"""Bare sockets on 127.0.0.1 (or ::1) playing the other side of a SIP exchange, byte for byte."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from softswitch.sip.message import Request, Response
from softswitch.sip.parser import parse_message


class RawUdp(asyncio.DatagramProtocol):
    """A UDP socket that queues every datagram it receives."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @classmethod
    async def open(cls, host: str = "127.0.0.1") -> RawUdp:
        loop = asyncio.get_running_loop()
        transport, raw = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        raw.host = host
        raw.transport = transport
        raw.port = transport.get_extra_info("sockname")[1]
        return raw

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.received.put_nowait(data)

    def send(self, data: bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, (self.host, port))

    async def next(self, timeout: float = 2.0) -> Request | Response:
        return parse_message(await asyncio.wait_for(self.received.get(), timeout))

    def drain(self) -> list[bytes]:
        items = []
        while not self.received.empty():
            items.append(self.received.get_nowait())
        return items

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def __enter__(self) -> RawUdp:  # with await RawUdp.open() as raw: closed after
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def request_text(
    method: str,
    to_port: int,
    from_port: int,
    *,
    transport: str = "UDP",
    branch: str = "z9hG4bKraw1",
    call_id: str = "raw-call",
    cseq: int = 1,
    to_tag: str | None = None,
    body: bytes = b"",
    host: str = "127.0.0.1",
) -> bytes:
    """A request from a raw socket at ``from_port`` to a UA at ``to_port``, both on
    ``host`` (an IPv6 literal goes in brackets)."""
    host = f"[{host}]" if ":" in host else host
    to = f"<sip:102@{host}:{to_port}>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:102@{host}:{to_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {host}:{from_port};branch={branch};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:101@{host}>;tag=rawfrom\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"Contact: <sip:101@{host}:{from_port}>\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class RawSocket:
    """A blocking UDP socket on 127.0.0.1 that plays a phone towards a switch running in
    another thread (end-to-end tests), with requests written by hand."""

    def __init__(self, port: int, switch_port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(5)
        self.port = port
        self.switch_port = switch_port

    def send(self, text: bytes) -> None:
        self.sock.sendto(text, ("127.0.0.1", self.switch_port))

    def final(self, method: str = "INVITE", call_id: str | None = None) -> Response:
        """The next final response to ``method`` (of ``call_id``); others are skipped."""
        while True:
            message = parse_message(self.sock.recv(65535))
            if not isinstance(message, Response) or message.status < 200:
                continue
            if message.cseq[1] == method and call_id in (None, message.call_id):
                return message

    def close(self) -> None:
        self.sock.close()


def raw_request(
    method: str, sock: RawSocket, *extra: str, call_id: str = "raw-1", from_tag: str = "rawfrom"
) -> bytes:
    """``request_text`` from ``sock`` to its switch, ``extra`` header lines added."""
    text = request_text(
        method, sock.switch_port, sock.port, call_id=call_id, branch=f"z9hG4bK{call_id}"
    )
    lines = "".join(f"{line}\r\n" for line in extra).encode()
    text = text.replace(b";tag=rawfrom", f";tag={from_tag}".encode())
    return text.replace(b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\n" + lines)
