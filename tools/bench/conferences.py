"""Conference rooms: 50 rooms of 10 parties (500 legs) mixed on one core.

The rooms are real `softswitch.conference.Room`s on a running `MediaClock` (uvloop, as
the server runs), their participants real channels with real RTP sessions on 127.0.0.1.
The 500 phones are plain UDP sockets in a child process pinned to another core: each
sends a PCMU frame every 20 ms to its leg and counts what its leg sends back. Each
20 ms tick reads, decodes, mixes and encodes every leg's frame (each participant hears
the nine others) and, with --record, writes each room's mix to its WAV.

Reported: the media tick's duration (every room's mix, measured inside the clock),
median / p99 / max, the ticks over 20 ms and the ticks the clock skipped (a tick is
within its frame if both are 0), the process's CPU in % of one core, and the frames
the phones got back against the ticks run (every leg should get one per tick).

    .venv/bin/python tools/bench/conferences.py                # 50 rooms x 10, 20 s
    .venv/bin/python tools/bench/conferences.py --rooms 50 --size 10 --seconds 30 --record

On a machine shared with other work the wall time of a tick includes the time the
kernel gave others; the tick's own CPU time (thread time) is reported beside it.
--bridges runs the same legs as 250 two-party bridges, the cost a room is held to.
Exit status 1 when a tick's work took more than 20 ms of CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import resource
import select
import shutil
import socket
import struct
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from media.clock import MediaClock
from media.g711 import ulaw_encode
from media.pcm import FRAME, FRAME_SECONDS
from media.ports import PortAllocator
from media.recorder import WavWriter
from media.session import RtpSession
from softswitch.bridge import Bridge
from softswitch.channel import Channel, ChannelNamer, Direction, Endpoint, EndpointKind
from softswitch.conference import Room
from softswitch.sip.address import Address
from softswitch.sip.invite import OutgoingInvite
from softswitch.sip.transport import Peer
from softswitch.sip.ua import UserAgent
from softswitch.sip.uri import SipUri

HOST = "127.0.0.1"
TICK_MS = FRAME_SECONDS * 1000


def pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the phones (child process) -------------------------------------------------------


def phones(socks: list[socket.socket], legs: list[int], seconds: float, out: Connection) -> None:
    """Send a PCMU frame to each leg every 20 ms for ``seconds``; count the replies."""
    pin(1)
    rng = np.random.default_rng(7)
    payloads = [
        ulaw_encode((np.sin(np.arange(FRAME) * (0.05 + 0.01 * (i % 40))) * 4000).astype(np.int16))
        for i in range(len(socks))
    ]
    ssrcs = rng.integers(1, 2**31, len(socks)).tolist()
    for s in socks:
        s.setblocking(False)
    header = struct.Struct("!BBHII")
    received = 0
    start = time.monotonic()
    n = 0
    fds = {s.fileno(): s for s in socks}
    poller = select.epoll()
    for fd in fds:
        poller.register(fd, select.EPOLLIN)
    while True:
        due = start + n * FRAME_SECONDS
        now = time.monotonic()
        if now - start >= seconds:
            break
        while now < due:  # drain replies until the next send
            for fd, _ in poller.poll(due - now):
                sock = fds[fd]
                try:
                    while True:
                        sock.recv(2048)
                        received += 1
                except BlockingIOError:
                    pass
            now = time.monotonic()
        for i, sock in enumerate(socks):
            packet = header.pack(0x80, 0, n & 0xFFFF, (n * FRAME) & 0xFFFFFFFF, ssrcs[i])
            with contextlib.suppress(OSError):  # a leg's port gone at the end
                sock.sendto(packet + payloads[i], (HOST, legs[i]))
        n += 1
    out.send((n, received))


def phone_sockets(channels: list[Channel]) -> list[socket.socket]:
    """A phone's socket for each channel; the channel sends its RTP there and is up."""
    socks = []
    for channel in channels:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        socks.append(sock)
        channel.rtp.set_remote(HOST, sock.getsockname()[1], "PCMU", 0, 101)
        channel.up()
    return socks


class Phones:
    """`phones` in a forked child for ``seconds``: the sockets are the child's from here on."""

    def __init__(self, socks: list[socket.socket], channels: list[Channel], seconds: float):
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        legs = [c.rtp.local_port for c in channels]
        self._child = context.Process(target=phones, args=(socks, legs, seconds, sender))
        self._child.start()
        for sock in socks:
            sock.close()

    async def result(self) -> tuple[int, int]:
        """When the child is done: the frames each phone sent, the replies all received."""
        sent, received = await asyncio.to_thread(self._receiver.recv)
        self._child.join()
        return sent, received


# -- the switch side ------------------------------------------------------------------


async def leg(ua: UserAgent, ports: PortAllocator, name: ChannelNamer, number: str) -> Channel:
    rtp = await RtpSession.open(HOST, ports)
    uri = SipUri("sip", number, HOST, 5999)
    invite = OutgoingInvite(
        ua,
        uri=uri,
        from_addr=Address(SipUri("sip", "800", HOST, ua.port)),
        to_addr=Address(uri),
        peer=Peer("UDP", HOST, 5999),
        body=b"",
    )
    endpoint = Endpoint(EndpointKind.EXTENSION, number, number)
    return Channel(name(number), Direction.OUTBOUND, endpoint, invite, rtp, HOST)


async def bench(args: argparse.Namespace, directory: Path) -> int:
    pin(0)
    legs_count = args.rooms * args.size
    for attempt in range(5):  # port 0 picks a UDP port whose TCP twin may be taken
        ua = UserAgent(HOST, 0, lambda st: None)
        try:
            await ua.start()
            break
        except OSError:
            if attempt == 4:
                raise
    ports = PortAllocator(args.first_port, min(65534, args.first_port + 4 * legs_count + 200))
    namer = ChannelNamer()
    channels = [await leg(ua, ports, namer, str(1000 + i)) for i in range(legs_count)]
    socks = phone_sockets(channels)

    clock = MediaClock()
    durations: list[float] = []  # wall time of each tick, ms
    cpu_durations: list[float] = []  # this thread's CPU time in each tick, ms
    started = [0.0, 0.0]

    def begin(_tick: int) -> None:
        started[0] = time.perf_counter()
        started[1] = time.thread_time()

    def end(_tick: int) -> None:
        durations.append((time.perf_counter() - started[0]) * 1e3)
        cpu_durations.append((time.thread_time() - started[1]) * 1e3)

    clock.add(begin)  # the clock calls its callbacks in the order added
    rooms = []
    bridges = []
    if args.bridges:  # the same legs as two-party calls: what the rooms compare with
        for a, b in zip(channels[::2], channels[1::2], strict=True):
            bridge = Bridge(a, b, clock)
            bridge.start()
            bridges.append(bridge)
    else:
        for r in range(args.rooms):
            recording = WavWriter(directory / f"room{r:03d}.wav") if args.record else None
            room = Room(str(800 + r), clock, max_participants=args.size, recording=recording)
            for channel in channels[r * args.size : (r + 1) * args.size]:
                room.join(channel)
            rooms.append(room)
    clock.add(end)

    phones = Phones(socks, channels, args.seconds + 1.0)
    await asyncio.sleep(1.0)  # the phones start, the jitter buffers fill
    clock.start()
    await asyncio.sleep(0.5)
    durations.clear()
    cpu_durations.clear()
    skipped0, tick0, cpu0, wall0 = clock.skipped, clock.tick_no, cpu_seconds(), time.monotonic()
    await asyncio.sleep(args.seconds - 0.5)
    ticks, skipped = clock.tick_no - tick0, clock.skipped - skipped0
    cpu, wall = cpu_seconds() - cpu0, time.monotonic() - wall0
    measured = np.array(durations)
    measured_cpu = np.array(cpu_durations)
    sent_back = sum(c.rtp.packets_sent for c in channels)
    clock.stop()
    phone_ticks, received = await phones.result()
    for room in rooms:
        room.close()
    for bridge in bridges:
        bridge.stop()
    for channel in channels:
        channel.rtp.close()
    await ua.stop()

    over = int((measured > TICK_MS).sum())
    cpu_over = int((measured_cpu > TICK_MS).sum())
    what = (
        f"{len(bridges)} two-party bridges"
        if args.bridges
        else f"{args.rooms} rooms x {args.size} parties"
    )
    print(
        f"{what} = {legs_count} legs, "
        f"{len(measured)} ticks measured over {wall:.1f} s"
        f"{', recording each room to a WAV' if args.record else ''}"
    )
    print(
        f"tick duration: median {np.median(measured):.2f} ms, p99 "
        f"{np.percentile(measured, 99):.2f} ms, max {measured.max():.2f} ms; "
        f"over {TICK_MS:.0f} ms: {over}; skipped by the clock: {skipped} of {ticks + skipped}"
    )
    print(
        f"tick CPU time: median {np.median(measured_cpu):.2f} ms, p99 "
        f"{np.percentile(measured_cpu, 99):.2f} ms, max {measured_cpu.max():.2f} ms "
        f"(wall minus CPU: time the machine gave to other processes)"
    )
    print(
        f"CPU {cpu / wall * 100:.0f}% of one core ({cpu / max(ticks, 1) * 1e3:.2f} ms per tick, "
        f"socket reads and sends included)"
    )
    print(
        f"frames sent to the phones: {sent_back}; received by them: {received} "
        f"(phones sent {phone_ticks} frames each)"
    )
    load = os.getloadavg()[0]
    print(
        f"CPU: {'every' if cpu_over == 0 else f'{cpu_over} of the'} ticks' work "
        f"{'fits' if cpu_over == 0 else 'does not fit'} in {TICK_MS:.0f} ms; "
        f"wall: {'every tick within its frame' if over == skipped == 0 else 'TICKS LATE'} "
        f"(load average {load:.1f} on {os.cpu_count()} cores)"
    )
    return 0 if cpu_over == 0 else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--record", action="store_true", help="each room to a WAV")
    parser.add_argument(
        "--bridges", action="store_true", help="the same legs in two-party bridges instead"
    )
    parser.add_argument(
        "--first-port",
        type=int,
        default=61000,
        help="legs' RTP ports from here (above Linux's ephemeral range, where the phones bind)",
    )
    parser.add_argument("--dir", type=Path, default=None, help="where WAVs go (a temp dir)")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="conferences-", dir=args.dir))
    try:
        import uvloop

        sys.exit(uvloop.run(bench(args, directory)))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
