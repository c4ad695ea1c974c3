"""RTP streams of the load generator: paced sending, kernel-timestamped receiving.

Every 20 ms tick (absolute deadlines, no drift) one packet goes out on every
active stream in one batch, then every socket that has data is drained.
Arrival times come from the kernel (SO_TIMESTAMPNS), stamped when the switch's
datagram reached our socket, so a busy generator that drains late still
measures the switch's send times exactly.

Each payload carries a tag the switch relays unchanged (PCMU decodes and
re-encodes losslessly except for byte 0x7F, which the tag never uses): a
24-bit frame counter, the sending stream's id and an 18-bit check of both (so that a
concealment frame the switch derived from a tag does not pass for one). The far side
reads it back to count frames lost end to end and frames delivered to the wrong call.

With ``phases`` > 1 the streams are split into that many groups, each sent in its own
batch at an even offset within the 20 ms (phones' packets do not all arrive at once).

One UDP socket per stream, connected to the switch's port once known, bound to
even ports so that the odd port above (where the switch sends RTCP) stays
closed, like a phone that does not do RTCP.
"""

from __future__ import annotations

import asyncio
import errno
import select
import socket
import struct
from array import array
from collections.abc import Iterable

from media.pcm import FRAME as FRAME_SAMPLES
from media.pcm import FRAME_SECONDS
from media.srtp import SrtpContext
from softswitch.background import cancel_and_wait

__all__ = ["MediaEngine", "Stream", "TAG_BYTES", "encode_tag", "tag_check"]

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
HEADER = struct.Struct("!BBHII")
TAG_BYTES = 11  # 4 counter + 4 stream id + 3 check, at payload offset 0
RECORD_BYTES = 12 + TAG_BYTES  # what we keep of each received packet: header + tag
_TIMESPEC = 16
# 6 bits per byte, high bit set: never 0x7F, which G.711 u-law does not round-trip
_SIX = [bytes((0x80 | (v >> 6), 0x80 | (v & 0x3F))) for v in range(4096)]
# a quiet 500 Hz-ish u-law pattern after the tag, so the payload is not all one byte
_BODY = bytes((0xF0, 0xE8, 0xE0, 0xE8, 0xF0, 0x70, 0x68, 0x60, 0x68, 0x70) * 16)[
    : FRAME_SAMPLES - TAG_BYTES
]


def encode_tag(value: int) -> bytes:
    """Four payload bytes for a 24-bit number."""
    return _SIX[(value >> 12) & 0xFFF] + _SIX[value & 0xFFF]


def tag_check(counter: int, stream_id: int) -> int:
    """18 bits that tie a counter to its stream (works on numpy arrays too; inlined in _send)."""
    return ((counter * 40503) ^ (stream_id * 9973) ^ 0x2A5A5) & 0x3FFFF


class Stream:
    """One RTP stream: our socket, what we sent, what the switch sent us."""

    __slots__ = (
        "index",
        "role",
        "sock",
        "fd",
        "local_port",
        "remote",
        "ssrc",
        "seq",
        "ts",
        "sent",
        "send_errors",
        "stream_id",
        "id_bytes",
        "rx_head",
        "rx_time",
        "marks",
        "closed",
        "srtp",
    )

    def __init__(
        self, index: int, role: str, sock: socket.socket, local_port: int, stream_id: int
    ) -> None:
        self.index = index  # the call's number
        self.role = role  # "uac" or "uas"
        self.sock = sock
        self.fd = sock.fileno()
        self.local_port = local_port
        self.remote: tuple[str, int] | None = None
        self.ssrc = (stream_id * 2654435761) & 0xFFFFFFFF
        self.seq = stream_id * 7919 & 0xFFFF
        self.ts = stream_id * 104729 & 0xFFFFFFFF
        self.sent = 0
        self.send_errors = 0
        self.stream_id = stream_id
        self.id_bytes = encode_tag(stream_id)
        self.rx_head = bytearray()  # RECORD_BYTES per received packet
        self.rx_time = bytearray()  # struct timespec per received packet (kernel stamp)
        self.marks: dict[str, int] = {}  # phase name -> frames sent when it began
        self.closed = False
        self.srtp: SrtpContext | None = None  # --srtp: protect/unprotect at the socket

    @property
    def received(self) -> int:
        return len(self.rx_head) // RECORD_BYTES


class MediaEngine:
    """All streams of the generator, driven by one absolute-deadline tick loop."""

    def __init__(self, address: str, first_port: int, last_port: int, phases: int = 1) -> None:
        if phases < 1:
            raise ValueError("phases must be at least 1")
        self.address = address
        self.phases = phases
        self._next_port = first_port + (first_port & 1)
        self._first_port = self._next_port
        self._last_port = last_port
        self._epoll = select.epoll()
        self._by_fd: dict[int, Stream] = {}
        self._sending: dict[Stream, None] = {}  # insertion-ordered set
        self._groups: list[tuple[Stream, ...]] = [() for _ in range(phases)]
        self.streams: list[Stream] = []
        self.ticks = 0
        self.skipped_ticks = 0
        self.late = array("d")  # how late each tick started (s), the generator's own health
        self.malformed = 0
        self._task: asyncio.Task[None] | None = None

    # -- streams -------------------------------------------------------------

    def open_stream(self, index: int, role: str) -> Stream:
        """Bind a socket on the next free even port of our range."""
        span = self._last_port - self._first_port + 1
        for _ in range(span // 2):
            port = self._next_port
            self._next_port += 2
            if self._next_port > self._last_port:
                self._next_port = self._first_port
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((self.address, port))
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRINUSE:
                    continue
                raise
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            stream = Stream(index, role, sock, port, len(self.streams))
            self.streams.append(stream)
            self._by_fd[stream.fd] = stream
            self._epoll.register(stream.fd, select.EPOLLIN)
            return stream
        raise OSError(f"no free even port in {self._first_port}-{self._last_port}")

    def start_sending(self, stream: Stream, host: str, port: int) -> None:
        stream.remote = (host, port)
        stream.sock.connect(stream.remote)
        self._sending[stream] = None
        self._regroup()

    def stop_sending(self, stream: Stream) -> None:
        if self._sending.pop(stream, 0) is None:
            self._regroup()

    def _regroup(self) -> None:
        phases = self.phases
        self._groups = [
            tuple(s for s in self._sending if s.stream_id % phases == k) for k in range(phases)
        ]

    def close_stream(self, stream: Stream) -> None:
        """Stop sending, take what is queued, close the socket (the data stays)."""
        if stream.closed:
            return
        self.stop_sending(stream)
        self._drain()
        self._epoll.unregister(stream.fd)
        del self._by_fd[stream.fd]
        stream.sock.close()
        stream.closed = True

    def mark(self, name: str, streams: Iterable[Stream] | None = None) -> None:
        """Remember how many frames each stream had sent when phase ``name`` began."""
        for stream in self.streams if streams is None else streams:
            stream.marks[name] = stream.sent

    # -- the tick loop ---------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="rtp-ticks")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        for stream in list(self._by_fd.values()):
            self.close_stream(stream)
        self._epoll.close()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        tick = 0
        late = self.late
        phases = self.phases
        interval = FRAME_SECONDS / phases
        while True:
            tick += 1
            deadline = start + tick * interval
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -3 * FRAME_SECONDS:
                # too far behind to catch up without a burst: jump to now (whole frames)
                behind = int(-delay / FRAME_SECONDS) * phases
                tick += behind
                self.skipped_ticks += behind // phases
                deadline = start + tick * interval
            late.append(loop.time() - deadline)
            self._send(self._groups[tick % phases])
            self._drain()
            self.ticks += 1

    def _send(self, streams: tuple[Stream, ...]) -> None:
        pack = HEADER.pack
        six = _SIX
        body = _BODY
        for stream in streams:
            seq = stream.seq = (stream.seq + 1) & 0xFFFF
            ts = stream.ts = (stream.ts + FRAME_SAMPLES) & 0xFFFFFFFF
            n = stream.sent
            check = ((n * 40503) ^ (stream.stream_id * 9973) ^ 0x2A5A5) & 0x3FFFF
            packet = (
                pack(0x80, 0, seq, ts, stream.ssrc)
                + six[(n >> 12) & 0xFFF]
                + six[n & 0xFFF]
                + stream.id_bytes
                + bytes((0x80 | (check >> 12), 0x80 | ((check >> 6) & 0x3F), 0x80 | (check & 0x3F)))
                + body
            )
            if stream.srtp is not None:
                packet = stream.srtp.protect(packet)
            try:
                stream.sock.send(packet)
            except OSError:
                # ICMP port unreachable from a leg the switch already closed
                stream.send_errors += 1
            stream.sent = n + 1

    def _drain(self) -> None:
        poll = self._epoll.poll
        by_fd = self._by_fd
        for _ in range(8):  # each round takes one packet per ready socket
            events = poll(0)
            if not events:
                return
            for fd, _mask in events:
                stream = by_fd[fd]
                try:
                    data, ancillary, _flags, _addr = stream.sock.recvmsg(2048, 64)
                except BlockingIOError:
                    continue
                except OSError:
                    continue  # a queued ICMP error on a connected socket
                if stream.srtp is not None:
                    plain = stream.srtp.unprotect(data)
                    if plain is None:
                        self.malformed += 1
                        continue
                    data = plain
                if len(data) < RECORD_BYTES or not ancillary:
                    self.malformed += 1
                    continue
                stream.rx_head += data[:RECORD_BYTES]
                stream.rx_time += ancillary[0][2][:_TIMESPEC]
