"""Which of our addresses a peer should see in Via, Contact and SDP.

Listening on a wildcard address (0.0.0.0), the switch has no one address: a phone on
the LAN reaches it through the LAN interface, a phone on the same host through
loopback. So each peer is told the source address of the route to it, which the
kernel reports for a connected UDP socket (connect() sends nothing), cached per
destination. Behind NAT, `external` is what peers outside `local_networks` (and
off loopback) must use instead.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

WILDCARDS = ("", "0.0.0.0", "::")
LOOPBACK = "127.0.0.1"
# Peers are the phones and carriers we send to; the cap only stops a stream of
# spoofed sources from growing the cache without bound (it starts over when full).
CACHE_LIMIT = 4096


def parse_networks(texts: Iterable[str]) -> list[IPNetwork]:
    """CIDR strings ("192.168.0.0/16") as networks; raises ValueError naming the bad one."""
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not a network like 192.168.0.0/16") from None
    return networks


def uri_host(address: str) -> str:
    """`address` as the host part of a SIP URI or Via: IPv6 literals in brackets."""
    return f"[{address}]" if ":" in address else address


def route_source(host: str) -> str | None:
    """The local address the kernel would send from to reach `host` (an IP literal);
    None when there is no route."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((host, 9))  # UDP: only picks a route, no packet leaves
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return address


class LocalAddresses:
    """Chooses, per peer, the address we advertise to it.

    listen_host: the SIP listen address; a specific one is advertised as is (to
    local peers), a wildcard means "the route's source address".
    external: our address as seen from outside (a NAT's public address or a name);
    "" = none, every peer gets the local address.
    local_networks: peers inside these (and loopback peers) get the local address
    even when `external` is set.
    """

    def __init__(
        self,
        listen_host: str,
        *,
        external: str = "",
        local_networks: Iterable[IPNetwork] = (),
    ) -> None:
        self.listen_host = listen_host
        self.external = external
        self.local_networks = list(local_networks)
        self._wildcard = listen_host in WILDCARDS
        self._cache: dict[str, str] = {}

    @property
    def default(self) -> str:
        """What to advertise when the peer is not known (logs, /health)."""
        if self.external:
            return self.external
        return LOOPBACK if self._wildcard else self.listen_host

    def describe(self) -> str:
        """The rule in words, for the start-up log."""
        local = "the route's source address" if self._wildcard else self.listen_host
        if not self.external:
            return local
        networks = ", ".join(map(str, self.local_networks)) or "none"
        return f"{self.external} (local networks: {networks}, loopback: {local})"

    def for_peer(self, host: str) -> str:
        """Our address as `host` (the peer's IP, as packets go to it) should see it."""
        address = self._cache.get(host)
        if address is None:
            address = self._choose(host)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[host] = address
        return address

    def forget(self) -> None:
        """Drop the cached routes (after the machine's addresses changed)."""
        self._cache.clear()

    def _choose(self, host: str) -> str:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            # A name: resolving it here would block the event loop. Callers pass
            # the resolved address (a trunk's peer, a request's source).
            return self.default
        local = ip.is_loopback or any(ip in net for net in self.local_networks)
        if self.external and not local and _same_family(self.external, ip):
            return self.external
        if not self._wildcard:
            return self.listen_host
        if ip.is_loopback:
            return LOOPBACK if ip.version == 4 else "::1"
        return route_source(host) or self.default


def _same_family(external: str, peer: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether `external` can be told to `peer`: a name can (its DNS may hold both
    families); an IPv4 NAT address told to an IPv6 peer could never be reached, and
    IPv6 rarely sits behind NAT, so such a peer gets the route's own address."""
    try:
        return ipaddress.ip_address(external).version == peer.version
    except ValueError:
        return True
