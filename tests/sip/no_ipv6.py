"""A machine without IPv6, for the tests of what the switch does there: binding any IPv6
address fails as such a kernel fails it (EAFNOSUPPORT); IPv4 binds as before."""

from __future__ import annotations

import errno
import socket

import pytest

from softswitch.sip import transport as transport_module


def without_ipv6(monkeypatch: pytest.MonkeyPatch) -> None:
    real = transport_module.bound_socket

    def ipv4_only(kind: socket.SocketKind, host: str, port: int) -> socket.socket:
        if ":" in host:
            raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
        return real(kind, host, port)

    monkeypatch.setattr(transport_module, "bound_socket", ipv4_only)
