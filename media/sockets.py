"""A socket bound to one local address, of that address's IP family: what RTP sessions
and the SIP transport listen on. An IPv6 socket takes IPv6 only: on "::" it must not also
take IPv4 (v4-mapped) packets for its port, which the IPv4 socket of the same port gets."""

from __future__ import annotations

import socket


def bound_socket(kind: socket.SocketKind, host: str, port: int) -> socket.socket:
    """A non-blocking ``kind`` socket bound to (host, port); closed again if that fails."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
