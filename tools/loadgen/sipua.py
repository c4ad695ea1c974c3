"""A minimal SIP endpoint on one UDP socket: client transactions with retransmission.

Just enough RFC 3261 for a load generator on loopback: requests are retransmitted
(T1 doubling, capped at T2; INVITE stops at the first provisional) until a final
response or timer B/F; responses are matched by the top Via branch. Requests
and responses that match no transaction go to the owner's handlers.
Messages are parsed with softswitch.sip.message (tools sit above every layer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from softswitch.sip.errors import SipError
from softswitch.sip.message import Request, Response
from softswitch.sip.parser import parse_message

__all__ = ["Address", "ClientTransaction", "SipSocket", "T1", "T2"]

log = logging.getLogger("loadgen.sip")

T1 = 0.5
T2 = 4.0
TIMEOUT = 64 * T1

Address = tuple[str, int]


@dataclass(slots=True)
class ClientTransaction:
    branch: str
    data: bytes
    addr: Address
    invite: bool
    final: asyncio.Future[Response]
    on_provisional: Callable[[Response], None] | None = None
    interval: float = T1
    timer: asyncio.TimerHandle | None = None
    deadline: asyncio.TimerHandle | None = None
    retransmissions: int = field(default=0)


class SipSocket(asyncio.DatagramProtocol):
    """Owns the socket; ``on_request(request, addr)`` and ``on_stray(response, addr)``."""

    def __init__(
        self,
        on_request: Callable[[Request, Address], None],
        on_stray: Callable[[Response, Address], None],
    ) -> None:
        self.on_request = on_request
        self.on_stray = on_stray
        self.transport: asyncio.DatagramTransport | None = None
        self._loop = asyncio.get_running_loop()
        self._transactions: dict[str, ClientTransaction] = {}
        self.retransmissions = 0
        self.parse_errors = 0
        self.timeouts = 0

    @classmethod
    async def bind(
        cls,
        host: str,
        port: int,
        on_request: Callable[[Request, Address], None],
        on_stray: Callable[[Response, Address], None],
    ) -> SipSocket:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(
            lambda: cls(on_request, on_stray), local_addr=(host, port)
        )
        return protocol

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP socket error: %s", exc)

    def close(self) -> None:
        for tx in list(self._transactions.values()):
            self._finish(tx)
            if not tx.final.done():
                tx.final.cancel()
        if self.transport is not None:
            self.transport.close()

    # -- sending -------------------------------------------------------------

    def send(self, data: bytes, addr: Address) -> None:
        assert self.transport is not None
        self.transport.sendto(data, addr)

    def request(
        self,
        data: bytes,
        branch: str,
        addr: Address,
        *,
        invite: bool = False,
        on_provisional: Callable[[Response], None] | None = None,
    ) -> asyncio.Future[Response]:
        """Send a request; the future gets its final response (TimeoutError after 32 s)."""
        tx = ClientTransaction(
            branch, data, addr, invite, self._loop.create_future(), on_provisional
        )
        self._transactions[branch] = tx
        self.send(data, addr)
        tx.timer = self._loop.call_later(T1, self._retransmit, tx)
        tx.deadline = self._loop.call_later(TIMEOUT, self._timeout, tx)
        return tx.final

    def _retransmit(self, tx: ClientTransaction) -> None:
        tx.retransmissions += 1
        self.retransmissions += 1
        self.send(tx.data, tx.addr)
        tx.interval = tx.interval * 2 if tx.invite else min(tx.interval * 2, T2)
        tx.timer = self._loop.call_later(tx.interval, self._retransmit, tx)

    def _timeout(self, tx: ClientTransaction) -> None:
        self.timeouts += 1
        self._finish(tx)
        if not tx.final.done():
            tx.final.set_exception(TimeoutError(f"no final response to {tx.data[:40]!r}"))

    def _finish(self, tx: ClientTransaction) -> None:
        self._transactions.pop(tx.branch, None)
        for timer in (tx.timer, tx.deadline):
            if timer is not None:
                timer.cancel()

    # -- receiving -----------------------------------------------------------

    def datagram_received(self, data: bytes, addr: Address) -> None:  # type: ignore[override]
        if len(data) < 4:  # keep-alive CRLFs
            return
        try:
            message = parse_message(data)
        except SipError:
            self.parse_errors += 1
            return
        if isinstance(message, Request):
            self.on_request(message, addr)
            return
        try:
            branch = message.top_via.params.get("branch") or ""
        except SipError:
            self.parse_errors += 1
            return
        tx = self._transactions.get(branch)
        if tx is None:
            self.on_stray(message, addr)
            return
        if message.status < 200:
            if tx.invite and tx.timer is not None:
                tx.timer.cancel()  # timer A stops at the first provisional
                tx.timer = None
            if tx.on_provisional is not None:
                tx.on_provisional(message)
            return
        self._finish(tx)
        if not tx.final.done():
            tx.final.set_result(message)
