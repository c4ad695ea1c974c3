"""Free-port picking for peers that listen on 127.0.0.1.

A port is only "free" at the moment we probe it, so each picker remembers what it
handed out: two peers started by the same test session never get the same block,
even before either of them has bound its sockets. Across processes (two pytest runs
at once) a picker also holds an flock on a per-port file while it owns the port.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"

# Below the Linux ephemeral range (32768-60999), where the kernel picks ports for
# outgoing sockets, and away from the switch's default RTP range (20000-29999).
DEFAULT_FIRST = 10000
DEFAULT_LAST = 19990

# baresip binds SIP on P (UDP+TCP) and TLS on P+1; we give it P+2..P+9 for RTP.
BARESIP_BLOCK = 10


def _udp_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _tcp_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # No SO_REUSEADDR: a port in TIME_WAIT would bind here and then fail for
        # a peer that does not set it either.
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when both UDP and TCP can bind `port` on `host` right now."""
    return _udp_free(port, host) and _tcp_free(port, host)


@dataclass(slots=True)
class PortPicker:
    """Hands out ports (or aligned blocks of ports) free for UDP and TCP.

    Blocks are aligned to their size, so a baresip block of 10 starts on a
    multiple of 10 and its RTP range P+2..P+9 starts on an even port.
    """

    first: int = DEFAULT_FIRST
    last: int = DEFAULT_LAST
    host: str = HOST
    _taken: set[int] = field(default_factory=set)
    _rng: random.Random = field(default_factory=random.Random)
    _locks: dict[int, int] = field(default_factory=dict)  # port -> locked fd
    lock_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "peer-port-locks")

    def _lock(self, port: int) -> bool:
        self.lock_dir.mkdir(exist_ok=True)
        fd = os.open(self.lock_dir / str(port), os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._locks[port] = fd
        return True

    def _unlock(self, port: int) -> None:
        fd = self._locks.pop(port, None)
        if fd is not None:
            os.close(fd)  # closing drops the flock

    def block(self, size: int) -> int:
        """First port of `size` consecutive free ports (start aligned to `size`)."""
        first = -(-self.first // size) * size  # round up to a multiple of size
        starts = list(range(first, self.last - size + 2, size))
        # A random start spreads concurrent test processes over the range.
        offset = self._rng.randrange(len(starts))
        for base in starts[offset:] + starts[:offset]:
            ports = range(base, base + size)
            if any(p in self._taken for p in ports):
                continue
            locked = []
            for p in ports:
                if not self._lock(p):
                    break
                locked.append(p)
            if len(locked) == size and all(port_is_free(p, self.host) for p in ports):
                self._taken.update(ports)
                return base
            for p in locked:
                self._unlock(p)
        raise RuntimeError(f"no {size} consecutive free ports in {self.first}-{self.last}")

    def port(self) -> int:
        """One port free for both UDP and TCP."""
        return self.block(1)

    def baresip_block(self) -> int:
        """Base port P for a baresip: SIP on P, TLS on P+1, RTP on P+2..P+9."""
        return self.block(BARESIP_BLOCK)

    def release(self, base: int, size: int = 1) -> None:
        for port in range(base, base + size):
            self._taken.discard(port)
            self._unlock(port)
