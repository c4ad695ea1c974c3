"""NAT keepalive: an OPTIONS to every registered device, through its flow, every
`interval` seconds.

A phone behind a home router is reachable only while the router remembers the UDP
mapping its REGISTER opened, which it forgets after 30 s or so of silence, long
before the phone re-registers. The ping and its answer keep the mapping alive, so an
idle phone still gets its calls. The pings of one round are spread over the interval
rather than sent in a burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .sip.address import Address
from .sip.errors import SipError
from .sip.routes import uri_host
from .sip.transport import Peer
from .sip.ua import UserAgent
from .sip.uri import SipUri
from .store import Store
from .store.database import Binding

log = logging.getLogger("softswitch.keepalive")


class NatKeepalive:
    def __init__(self, ua: UserAgent, store: Store, interval: float) -> None:
        self.ua = ua
        self.store = store
        self.interval = interval
        self.sent = 0  # pings sent so far (for tests and /health)
        # (aor, contact) -> (call_id, cseq) of the registration that stopped answering;
        # a refreshed registration (another CSeq) is reachable again
        self._unreachable: dict[tuple[str, str], tuple[str, int]] = {}
        self._task: asyncio.Task[None] | None = None
        self._pings: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
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
            live = {(b.aor, b.contact) for b in bindings}
            for key in [k for k in self._unreachable if k not in live]:
                del self._unreachable[key]  # expired or unregistered since
            if not bindings:
                await asyncio.sleep(self.interval)
                continue
            gap = self.interval / len(bindings)
            for binding in bindings:
                await asyncio.sleep(gap)
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
            transaction = await self.ua.send(request, peer)
            self.sent += 1
            response = await transaction.final
        except SipError as exc:
            log.debug("keepalive to %s (%s) not sent: %s", binding.aor, binding.contact, exc)
            return
        key = (binding.aor, binding.contact)
        # Any answer (even 404/405) proves the mapping works; 408 is the transaction's
        # timeout (silence), 503 a transport error.
        if response.status in (408, 503):
            if key not in self._unreachable:
                log.info("keepalive: %s at %s is unreachable", binding.aor, binding.contact)
            self._unreachable[key] = (binding.call_id, binding.cseq)
        elif self._unreachable.pop(key, None) is not None:
            log.info("keepalive: %s at %s answers again", binding.aor, binding.contact)
