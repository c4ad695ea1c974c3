"""RTP engine load: N session pairs on loopback, each session 50 packets/s each way.

Every 20 ms tick of one MediaClock, every session reads a frame (jitter buffer,
G.711 decode, concealment) and writes one (encode, sendto): the work of a
bridged call leg. Reports CPU per packet (one receive + one send), loss and
CPU load.

With --srtp every session encrypts what it sends and decrypts what it
receives (AES_CM_128_HMAC_SHA1_80, its own keys per direction): the SRTP
cost per packet against the plain figure of the same run.

Run: .venv/bin/python tools/bench/rtp_session.py [--pairs 200] [--seconds 10]
     [--loop uvloop|asyncio] [--srtp]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

import numpy as np

from media import g711
from media.clock import MediaClock
from media.pcm import FRAME
from media.ports import PortAllocator
from media.session import RtpSession
from media.srtp import SrtpContext, SrtpKey, SrtpSuite

HOST = "127.0.0.1"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(
    pairs: int,
    seconds: float,
    warmup: float,
    first_port: int,
    srtp: bool = False,
    passthrough: bool = False,
) -> dict[str, float]:
    ports = PortAllocator(first_port, first_port + 4 * pairs + 400)
    sessions: list[RtpSession] = []
    for i in range(pairs):
        a = await RtpSession.open(HOST, ports)
        b = await RtpSession.open(HOST, ports)
        codec, pt = ("PCMU", 0) if i % 2 or passthrough else ("PCMA", 8)
        a.set_remote(HOST, b.local_port, codec, pt, 101)
        b.set_remote(HOST, a.local_port, codec, pt, 101)
        if srtp:
            key_a = SrtpKey.generate(SrtpSuite.AES_CM_128_HMAC_SHA1_80)
            key_b = SrtpKey.generate(SrtpSuite.AES_CM_128_HMAC_SHA1_80)
            a.srtp = SrtpContext(key_a, key_b)
            b.srtp = SrtpContext(key_b, key_a)
        sessions += [a, b]

    rng = np.random.default_rng(7)
    speech = (rng.standard_normal(FRAME) * 3000).astype(np.int16)

    def tick(_n: int) -> None:
        # What a bridge does for each leg, once per 20 ms.
        for s in sessions:
            heard = s.read_frame()
            s.write_frame(speech if heard is None else heard)

    spoken = g711.ulaw_encode(speech)

    def relay(_n: int) -> None:
        # What a pass-through bridge does (PCMU both ways, payloads undecoded).
        for s in sessions:
            heard = s.read_payload()
            s.write_payload(spoken if heard is None else heard)

    clock = MediaClock()
    clock.add(relay if passthrough else tick)
    clock.start()
    await asyncio.sleep(warmup)

    def totals() -> tuple[int, int, int, int]:
        return (
            sum(s.packets_sent for s in sessions),
            sum(s.packets_received for s in sessions),
            sum(s.concealed for s in sessions),
            clock.skipped,
        )

    sent0, recv0, conc0, skip0 = totals()
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu1, wall1 = cpu_seconds(), time.perf_counter()
    sent1, recv1, conc1, skip1 = totals()
    clock.stop()
    await asyncio.sleep(0.2)  # let the packets in flight land
    lost_total = sum(s.stats["lost"] for s in sessions)
    for s in sessions:
        s.close()

    received = recv1 - recv0
    sent = sent1 - sent0
    cpu = cpu1 - cpu0
    wall = wall1 - wall0
    return {
        "loop": type(asyncio.get_running_loop()).__module__
        + (" srtp" if srtp else "")
        + (" passthrough" if passthrough else ""),
        "sessions": len(sessions),
        "sent_pps": sent / wall,
        "received_pps": received / wall,
        "expected_pps": len(sessions) * 50,
        "cpu_percent": 100 * cpu / wall,
        "us_per_packet": 1e6 * cpu / max(received, 1),
        "loss_percent": 100 * lost_total / max(recv1 + lost_total, 1),
        "concealed": conc1 - conc0,
        "skipped_ticks": skip1 - skip0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--first-port", type=int, default=50000)
    parser.add_argument("--srtp", action="store_true", help="encrypt every session (SDES keys)")
    parser.add_argument(
        "--passthrough",
        action="store_true",
        help="also run each size with payloads passed through undecoded (PCMU), to compare",
    )
    args = parser.parse_args()

    loop_factory = None
    if args.loop == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop
    print(
        f"loop={args.loop}  measuring {args.seconds:.0f} s after {args.warmup:.0f} s warm-up, "
        "50 pps per session each way"
    )
    print(
        f"{'pairs':>5} {'sessions':>8} {'rx pkt/s':>9} {'tx pkt/s':>9} {'CPU %':>6} "
        f"{'us/pkt rx+tx':>13} {'loss %':>7} {'concealed':>9} {'skipped ticks':>13}"
    )
    for pairs in args.pairs:
        for passthrough in (False, True) if args.passthrough else (False,):
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                r = runner.run(
                    run(pairs, args.seconds, args.warmup, args.first_port, args.srtp, passthrough)
                )
            print(
                f"{pairs:>5} {r['sessions']:>8} {r['received_pps']:>9.0f} "
                f"{r['sent_pps']:>9.0f} {r['cpu_percent']:>6.1f} {r['us_per_packet']:>13.1f} "
                f"{r['loss_percent']:>7.3f} {r['concealed']:>9} {r['skipped_ticks']:>13}   "
                f"({r['loop']})"
            )


if __name__ == "__main__":
    main()
