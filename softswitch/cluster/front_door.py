"""The Kamailio proxies in front of a cluster ([cluster] front_doors) and what only they
may tell a node: the Path of a REGISTER (RFC 3327) and, for a request they relay, who
really sent it (the X-Softswitch-Source header the shipped config writes, so that a
carrier's INVITE is still recognised as the trunk's by its address)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ..config import split_source
from ..sip.message import Request
from ..sip.transport import Peer

log = logging.getLogger("softswitch.cluster")

SOURCE_HEADER = "X-Softswitch-Source"
TRANSPORTS = {"udp": "UDP", "tcp": "TCP", "tls": "TLS"}


class FrontDoor:
    def __init__(self, doors: Iterable[str]) -> None:
        self._any_port: set[str] = set()
        self._exact: set[tuple[str, int]] = set()
        for door in doors:
            host, port = split_source(door)
            if port is None:
                self._any_port.add(host)
            else:
                self._exact.add((host, port))

    def trusts(self, peer: Peer) -> bool:
        return self.is_door(peer.host, peer.port)

    def is_door(self, host: str, port: int) -> bool:
        return host in self._any_port or (host, port) in self._exact

    def path(self, request: Request, peer: Peer) -> str:
        """The REGISTER's Path as a Route set ("" when none, or not from a front door)."""
        values = request.headers.get_all("Path")
        if not values:
            return ""
        if not self.trusts(peer):
            log.warning("Path from %s ignored: not a front door", peer)
            return ""
        return ", ".join(values)

    def origin(self, request: Request, peer: Peer) -> Peer:
        """Who sent the request: ``peer``, or the source a front door names."""
        if not self.trusts(peer):
            return peer
        value = request.headers.get(SOURCE_HEADER)
        if not value:
            return peer
        proto, _, rest = value.strip().partition(":")
        host, _, port = rest.rpartition(":")
        transport = TRANSPORTS.get(proto.lower())
        if transport is None or not host or not port.isdigit():
            log.warning("bad %s %r from %s", SOURCE_HEADER, value, peer)
            return peer
        return Peer(transport, host.strip("[]"), int(port))
