"""Where a leg's RTP socket binds: one local address per IP family this machine serves.

A leg's RTP socket is of its peer's family (an IPv4 socket cannot send to an IPv6
address, nor the reverse). With a wildcard RTP address both wildcards are candidates;
the configured family is taken as is (a failure to bind shows on the call, as
always), the other one only if the machine has it, which is probed once here so a
machine without IPv6 answers an IPv6 offer 488 instead of trying per call.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

__all__ = ["WILDCARDS", "RtpFamilies", "can_bind", "version_of"]

WILDCARDS = ("", "0.0.0.0", "::")


def can_bind(address: str) -> bool:
    """Can a UDP socket bind `address` (any port) on this machine?"""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


def version_of(address: str) -> int:
    """6 for an IPv6 literal, else 4 (IPv4 literals, and names an IPv4 socket refuses)."""
    return 6 if ":" in address else 4


class RtpFamilies:
    """The RTP bind address for a peer of each IP version this machine serves.

    configured: `[rtp] address`; a wildcard serves both families where the machine
    can, a specific address serves its own family only.
    """

    __slots__ = ("binds", "default")

    def __init__(self, configured: str, probe: Callable[[str], bool] | None = None) -> None:
        probe = probe or can_bind  # looked up here: a test may stand in for a machine without IPv6
        if configured in WILDCARDS:
            first = "::" if configured == "::" else "0.0.0.0"
            other = "0.0.0.0" if first == "::" else "::"
            candidates = [first] + ([other] if probe(other) else [])
        else:
            candidates = [configured]
        self.binds: dict[int, str] = {version_of(address): address for address in candidates}
        self.default = candidates[0]  # the configured family's address

    def bind_address(self, peer: str) -> str | None:
        """Where to bind RTP toward `peer` (an IP literal); None: its family is not served."""
        return self.binds.get(version_of(peer))

    def describe(self) -> str:
        """The families served, for the start-up log ("IPv4+IPv6")."""
        return "+".join(f"IPv{version}" for version in sorted(self.binds))
