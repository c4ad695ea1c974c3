"""Bare sockets on 127.0.0.1 (or ::1) playing the other side of a SIP exchange, byte for byte."""

from __future__ import annotations

import asyncio
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
