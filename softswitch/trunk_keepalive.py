"""Trunk keepalive: an OPTIONS ping to the carrier every `interval` seconds, on the
trunk's transport, from the switch's SIP port.

A switch behind a NAT router is reachable by its carrier only through the UDP mapping
its REGISTER opened, which the router forgets after 30 s or so of silence, long before
the registration is refreshed: the carrier's next INVITE would be dropped at the
router. A ping and its answer every `interval` seconds keep that mapping open. They
also tell whether the carrier is there at all: any answer, even 404 or 405 (a carrier
that does not do OPTIONS still answered), counts as alive; silence (the transaction's
timeout) or a transport error marks it unreachable, shown in /health until it answers
again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from enum import StrEnum

from .background import cancel_and_wait
from .sip.address import Address
from .sip.errors import SipError
from .sip.routes import uri_host
from .sip.transport import Peer
from .sip.ua import UserAgent
from .sip.uri import SipUri

log = logging.getLogger("softswitch.trunk")

# The statuses a client transaction makes up itself: timer F fired (silence), or
# the transport could not send (no route, connection refused, TLS failure).
NO_ANSWER = (408, 503)


class CarrierState(StrEnum):
    """What the pings say of the carrier; the values are what /health shows."""

    OFF = "off"  # keepalive = 0: not pinged
    UNKNOWN = "unknown"  # no ping has been answered or has timed out yet
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"


class CarrierPing:
    """Pings one carrier. `peer` returns where the trunk's requests go, or None while
    the carrier's address is not resolved (no ping that round)."""

    def __init__(
        self,
        ua: UserAgent,
        uri: SipUri,
        peer: Callable[[], Peer | None],
        interval: float,
        *,
        name: str = "",
        user: str = "",
    ) -> None:
        self.ua = ua
        self.uri = uri
        self.peer = peer
        self.interval = interval
        self.name = name
        self.user = user
        self.state = CarrierState.UNKNOWN if interval > 0 else CarrierState.OFF
        self.sent = 0  # pings sent so far
        self.last_status = 0  # the last ping's final status (0: none yet)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"trunk-ping-{self.name}")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        # The REGISTER (or the first call) opens the mapping; the first ping is due
        # one interval later. One ping at a time: an unanswered one takes timer F
        # (32 s on UDP), during which its retransmissions keep the mapping open too.
        delay = self.interval
        while True:
            await asyncio.sleep(delay)
            started = time.monotonic()
            await self.ping()
            # pings start `interval` apart; one that took longer is followed at once
            delay = max(0.0, self.interval - (time.monotonic() - started))

    async def ping(self) -> CarrierState:
        """One OPTIONS exchange; returns (and records) the carrier's state."""
        peer = self.peer()
        if peer is None:
            return self.state
        host = uri_host(self.ua.advertised(peer.host))
        me = Address(SipUri("sip", self.user or None, host, self.ua.port_for(peer.transport)))
        request = self.ua.new_request(
            "OPTIONS",
            self.uri,
            me,
            Address(self.uri),
            transport=peer.transport,
            peer_host=peer.host,
        )
        try:
            transaction = await self.ua.send(request, peer)
            self.sent += 1
            status = (await transaction.final).status
        except SipError as exc:
            log.debug("trunk %s: keepalive not sent: %s", self.name, exc)
            status = 503
        self.last_status = status
        self._record(CarrierState.UNREACHABLE if status in NO_ANSWER else CarrierState.REACHABLE)
        return self.state

    def _record(self, state: CarrierState) -> None:
        if state == self.state:
            return
        if state == CarrierState.UNREACHABLE:
            log.warning(
                "trunk %s: carrier does not answer keepalives (%d)", self.name, self.last_status
            )
        elif self.state == CarrierState.UNREACHABLE:
            log.info("trunk %s: carrier answers keepalives again", self.name)
        self.state = state
