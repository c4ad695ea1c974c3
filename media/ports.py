"""RTP port allocation: even ports from a configured range, RTCP on port + 1."""

from __future__ import annotations

from collections import deque

__all__ = ["PortAllocator", "PortsExhausted"]


class PortsExhausted(RuntimeError):
    """Every even port of the range is in use."""


class PortAllocator:
    """Hands out even RTP ports (the odd port above is its RTCP) from [first, last].

    Released ports go to the back of the queue, so a port is not reused right
    away: late packets of the previous call then do not land in the next one.
    """

    __slots__ = ("first", "last", "_free", "_used")

    def __init__(self, first: int, last: int) -> None:
        start = first + (first & 1)
        if not 0 < first <= last <= 65535 or start + 1 > last:
            raise ValueError(f"RTP port range {first}-{last} holds no even/odd port pair")
        self.first = first
        self.last = last
        self._free: deque[int] = deque(range(start, last, 2))
        self._used: set[int] = set()

    @property
    def capacity(self) -> int:
        return len(self._free) + len(self._used)

    @property
    def in_use(self) -> int:
        return len(self._used)

    @property
    def available(self) -> int:
        return len(self._free)

    def allocate(self) -> int:
        """An even port whose port + 1 is reserved too; PortsExhausted when none is left."""
        if not self._free:
            raise PortsExhausted(
                f"all {self.capacity} RTP port pairs of {self.first}-{self.last} are in use"
            )
        port = self._free.popleft()
        self._used.add(port)
        return port

    def release(self, port: int) -> None:
        """Give a port back (releasing a port that is not allocated is a no-op)."""
        if port in self._used:
            self._used.remove(port)
            self._free.append(port)
