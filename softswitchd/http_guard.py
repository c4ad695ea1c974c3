"""uvicorn's HTTP protocol with a header deadline and connection caps (slowloris).

Why not uvicorn's own settings alone: `timeout_keep_alive` is armed only after a
response has gone out, and every byte received disarms it, so a client that trickles
a header byte now and then, or never finishes its first request, is never timed out;
`limit_concurrency` answers 503 only once a request's headers are complete, which a
slowloris client never sends, so it caps nothing they hold; `h11_max_incomplete_event_size`
bounds the size of headers, not the time taken (and the httptools parser we run has no
equivalent: it took 20 MB of headers for one request). So each connection gets a
deadline for its request line and headers, armed when it opens and again after each
response, cancelled when the headers are complete, and at most `max_header_bytes`
before them (431 past that); connections beyond the caps (in all, per source address)
are answered 503 and closed before they cost more than their descriptor for an instant.
uvicorn's `limit_concurrency` is not set: it counts the same connections and would
answer 503 to requests on connections these caps admitted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("softswitchd.http_guard")

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 22\r\nConnection: close\r\n\r\n"
    b"too many connections\r\n"
)
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 18\r\nConnection: close\r\n\r\n"
    b"headers too large\r\n"
)


@dataclass(slots=True)
class HttpLimits:
    header_timeout: float = 10.0
    max_header_bytes: int = 64 * 1024  # request line and headers of one request
    max_connections: int = 1000
    max_per_source: int = 256
    # the open connections per source address; shared by every protocol of one server
    open: Counter[str] = field(default_factory=Counter)


def guarded_protocol(limits: HttpLimits) -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn.Config(http=...) for these limits."""

    class Guarded(GuardedHttpProtocol):
        pass

    Guarded.limits = limits
    return Guarded


class GuardedHttpProtocol(HttpToolsProtocol):
    limits: HttpLimits = HttpLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._source: str | None = None  # set when the connection is admitted
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0  # received since the deadline was armed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        source = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        limits = self.limits
        if (
            len(self.connections) >= limits.max_connections
            or limits.open[source] >= limits.max_per_source
        ):
            log.warning("HTTP connection from %s refused: too many connections", source)
            self.transport = transport
            transport.write(_BUSY)
            transport.close()
            return
        self._source = source
        limits.open[source] += 1
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._source is None:  # refused in connection_made: uvicorn never saw it
            return
        limits = self.limits
        limits.open[self._source] -= 1
        if limits.open[self._source] <= 0:
            del limits.open[self._source]
        self._source = None
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        idle = self.cycle is None or self.cycle.response_complete  # no pipelined request ran
        if idle and not self.transport.is_closing():
            self._arm()  # the next request's headers are due in time too

    def data_received(self, data: bytes) -> None:
        if self._source is None:
            return  # refused: its bytes are not for uvicorn
        super().data_received(data)
        if self._header_deadline is None:
            return  # not waiting for headers (they completed in this very chunk, say)
        self._header_bytes += len(data)
        if self._header_bytes > self.limits.max_header_bytes and not self.transport.is_closing():
            self._disarm()
            self.transport.write(_TOO_LARGE)
            self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._header_bytes = 0
        self._header_deadline = self.loop.call_later(self.limits.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
