"""Music on hold to 500 held calls against 500 bridged legs, on one core, in one run.

Both halves use real channels with real RTP sessions on 127.0.0.1 on a running
`MediaClock` (uvloop, as the server runs), the phones being plain UDP sockets in a
child process pinned to another core (tools/bench/conferences.py's phones: a PCMU
frame every 20 ms to each leg, replies counted).

- bridged: 500 legs in 250 two-party bridges (every leg decoded and re-encoded).
- held: 500 calls whose other party put them on hold (its phone silent, a=inactive):
  the bridges stop ticking and the switch's one MohSource sends each of the 500 held
  legs the music-on-hold frame of the tick (one decoded loop, no per-call player).

Reported for each: the tick's CPU time (median / p99 / max), the process's CPU in % of
one core, and the frames the phones got back. The held half should cost no more than
the bridged one; exit status 1 when it costs more than 1.1x.

    .venv/bin/python tools/bench/moh.py                 # 500 and 500, 20 s each
    .venv/bin/python tools/bench/moh.py --calls 500 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import numpy as np

# run as a script: tools/bench is on sys.path, its conference bench holds the phones
from conferences import HOST, Phones, cpu_seconds, leg, phone_sockets, pin

from media.clock import MediaClock
from media.moh import MohSource, MusicOnHold
from media.ports import PortAllocator
from media.tones import hold_music
from softswitch.bridge import Bridge
from softswitch.channel import Channel, ChannelNamer
from softswitch.sip.ua import UserAgent

TARGET = 1.1  # held CPU over bridged CPU, at most


async def run(
    args: argparse.Namespace, ua: UserAgent, ports: PortAllocator, held: bool
) -> dict[str, float]:
    namer = ChannelNamer()
    listeners = [await leg(ua, ports, namer, str(1000 + i)) for i in range(args.calls)]
    holders: list[Channel] = []
    if held:
        holders = [await leg(ua, ports, namer, str(5000 + i)) for i in range(args.calls)]
    socks = phone_sockets(listeners)
    for channel in holders:  # put the call on hold: we send them nothing
        channel.rtp.set_remote(HOST, 9, "PCMU", 0, 101)
        channel.rtp.direction = "recvonly"
        channel.holding = True
        channel.up()

    clock = MediaClock()
    cpu_durations: list[float] = []
    started = [0.0]

    def begin(_tick: int) -> None:
        started[0] = time.thread_time()

    def end(_tick: int) -> None:
        cpu_durations.append((time.thread_time() - started[0]) * 1e3)

    clock.add(begin)
    moh = MohSource(MusicOnHold(hold_music()), clock)
    if held:
        pairs = list(zip(holders, listeners, strict=True))
    else:
        pairs = list(zip(listeners[::2], listeners[1::2], strict=True))
    bridges = [Bridge(a, b, clock, moh) for a, b in pairs]
    for bridge in bridges:
        bridge.start()
    clock.add(end)
    if held:
        assert len(moh) == args.calls and len(clock) == 3  # begin, the music, end

    phones = Phones(socks, listeners, args.seconds + 1.0)
    await asyncio.sleep(1.0)
    clock.start()
    await asyncio.sleep(0.5)
    cpu_durations.clear()
    tick0, cpu0, wall0 = clock.tick_no, cpu_seconds(), time.monotonic()
    await asyncio.sleep(args.seconds - 0.5)
    ticks = clock.tick_no - tick0
    cpu, wall = cpu_seconds() - cpu0, time.monotonic() - wall0
    measured = np.array(cpu_durations)
    sent_back = sum(c.rtp.packets_sent for c in listeners)
    clock.stop()
    phone_ticks, received = await phones.result()
    for bridge in bridges:
        bridge.stop()
    for channel in listeners + holders:
        channel.rtp.close()
    what = (
        f"{args.calls} held calls hearing music on hold"
        if held
        else f"{len(bridges)} bridges = {args.calls} bridged legs"
    )
    print(
        f"{what}: tick CPU median {np.median(measured):.2f} ms, p99 "
        f"{np.percentile(measured, 99):.2f} ms, max {measured.max():.2f} ms; "
        f"CPU {cpu / wall * 100:.0f}% of one core ({cpu / max(ticks, 1) * 1e3:.2f} ms per tick); "
        f"frames to the phones {sent_back}, received {received} ({phone_ticks} ticks)"
    )
    return {"cpu": cpu / wall, "median": float(np.median(measured))}


async def bench(args: argparse.Namespace) -> int:
    pin(0)
    ua = UserAgent(HOST, 0, lambda st: None)
    await ua.start()
    ports = PortAllocator(args.first_port, min(65534, args.first_port + 8 * args.calls + 200))
    bridged = await run(args, ua, ports, held=False)
    held = await run(args, ua, ports, held=True)
    await ua.stop()
    ratio = held["cpu"] / bridged["cpu"]
    print(f"music on hold / bridged: {ratio:.2f}x the CPU (target <= {TARGET}x)")
    return 0 if ratio <= TARGET else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--first-port", type=int, default=57000)
    args = parser.parse_args()
    import uvloop

    sys.exit(uvloop.run(bench(args)))


if __name__ == "__main__":
    main()
