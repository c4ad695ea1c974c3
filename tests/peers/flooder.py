"""A bounded SIP flood from one loopback address: raw UDP, counted answers.

Sends ``count`` requests at about ``rate`` per second from ``source`` (any 127.0.0.x
works on Linux loopback) and records every datagram that comes back, by Call-ID, so a
test can tell an answered request from a retransmitted answer or a dropped request.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable

from softswitch.sip.errors import SipParseError
from softswitch.sip.parser import parse_message


def unauthenticated_invite(i: int, source: str, port: int, target: str, number: str) -> bytes:
    return (
        f"INVITE sip:{number}@{target} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bKflood{i};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:{number}@{target}>;tag=fl{i}\r\n"
        f"To: <sip:{number}@{target}>\r\n"
        f"Call-ID: flood-{i}@{source}\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:x@{source}:{port}>\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def options(i: int, source: str, port: int, target: str, number: str) -> bytes:
    return (
        f"OPTIONS sip:{number}@{target} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bKopt{i};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:x@{source}>;tag=o{i}\r\n"
        f"To: <sip:{number}@{target}>\r\n"
        f"Call-ID: opt-{i}@{source}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


Message = Callable[[int, str, int, str, str], bytes]


class Flooder:
    def __init__(self, source: str, target: tuple[str, int], number: str = "102") -> None:
        self.source = source
        self.target = target
        self.number = number
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((source, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answers: Counter[tuple[str, int]] = Counter()  # (Call-ID, status) -> times
        self.sent = 0
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                message = parse_message(data)
            except SipParseError:
                continue
            status = getattr(message, "status", 0)
            self.answers[(message.call_id, status)] += 1

    def flood(
        self,
        count: int,
        rate: float,
        make: Message = unauthenticated_invite,
        start: int = 0,
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """Send ``count`` requests at about ``rate``/s (bursts of 10), or until ``stop``."""
        target = f"{self.target[0]}:{self.target[1]}"
        began = time.monotonic()
        for i in range(start, start + count):
            self.sock.sendto(make(i, self.source, self.port, target, self.number), self.target)
            self.sent += 1
            if self.sent % 10 == 0:
                if stop():
                    return
                ahead = began + self.sent / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)

    def statuses(self) -> Counter[int]:
        """How many answers of each status came back (repeats included)."""
        total: Counter[int] = Counter()
        for (_, status), times in self.answers.items():
            total[status] += times
        return total

    def repeated(self) -> int:
        """Answers that came more than once for one request: retransmissions."""
        return sum(times - 1 for times in self.answers.values() if times > 1)

    def close(self) -> None:
        self._stop.set()
        self._reader.join(timeout=2)
        self.sock.close()
