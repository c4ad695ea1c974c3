"""media.sockets: a non-blocking socket of its address's family, IPv6 ones IPv6 only."""

from __future__ import annotations

import os
import socket

import pytest

from media.families import can_bind
from media.sockets import bound_socket


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_STREAM])
def test_an_ipv4_socket_is_bound_and_non_blocking(kind: socket.SocketKind) -> None:
    with bound_socket(kind, "127.0.0.1", 0) as sock:
        assert sock.family == socket.AF_INET and sock.type == kind
        assert sock.getsockname()[0] == "127.0.0.1" and sock.getsockname()[1] > 0
        assert sock.getblocking() is False
        reuse = sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        assert bool(reuse) == (kind == socket.SOCK_STREAM)  # listeners restart at once


@pytest.mark.skipif(not can_bind("::1"), reason="no IPv6 on this machine")
def test_an_ipv6_socket_takes_ipv6_only() -> None:
    with bound_socket(socket.SOCK_DGRAM, "::", 0) as sock:
        assert sock.family == socket.AF_INET6
        assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        port = sock.getsockname()[1]
        # the IPv4 wildcard of the same port is free: "::" did not take it
        with bound_socket(socket.SOCK_DGRAM, "0.0.0.0", port) as v4:
            assert v4.getsockname()[1] == port


def test_a_failed_bind_raises_and_leaves_no_socket_open() -> None:
    with bound_socket(socket.SOCK_DGRAM, "127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        before = len(os.listdir("/proc/self/fd"))
        with pytest.raises(OSError):
            bound_socket(socket.SOCK_DGRAM, "127.0.0.1", port)
        assert len(os.listdir("/proc/self/fd")) == before
