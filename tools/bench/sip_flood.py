"""SIP under flood: a garbage flood at the switch while legitimate calls are set up.

The switch (`softswitchd serve`, default [sip_limits]) runs pinned to core 0; this
script, sipp and the flood run on the other cores. The flood mixes, in equal parts,
unauthenticated INVITEs (answered by a stateless 401), malformed but answerable INVITEs
(a stateless 400) and bytes that are no SIP at all (dropped), from ``--sources``
addresses 127.0.0.2 and up: one source at 5,000/s is banned within a second and then
dropped before parsing; 50 sources at 100/s each stay under the per-source rate, so every
message is parsed and answered. Legitimate calls: sipp (digest auth as extension 101) ->
switch -> trunk -> sipp UAS, as tools/bench/call_setup.py.

Phases, each ``--seconds`` long, on one switch process:
  1. idle                   -> the switch's CPU with nothing to do
  2. flood alone            -> CPU per flood message (idle subtracted)
  3. calls alone            -> CPU of the calls
  4. flood + calls          -> legitimate call failures under the flood

    .venv/bin/python tools/bench/sip_flood.py --flood-rate 5000 --call-rate 50 --sources 1
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

# run as a script: tools/bench is on sys.path
from sipp_switch import (
    cpu_seconds,
    free_port,
    sipp_calls,
    sipp_uas,
    start_switch,
    terminate,
    udp_drops,
    wait_healthy,
    write_config,
)

SWITCH_CORE = 0


def rss_mib(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def garbage(sip_port: int, source: str, port: int) -> Iterator[bytes]:
    """The flood's messages, round robin: a 401, a 400 and a drop each."""
    target = f"127.0.0.1:{sip_port}"
    for i in itertools.count():
        head = (
            f"INVITE sip:101@{target} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bKf{i};rport\r\n"
            f"From: <sip:101@{target}>;tag=f{i}\r\n"
            f"To: <sip:101@{target}>\r\n"
            f"Call-ID: flood{i}@{source}\r\n"
            "CSeq: 1 INVITE\r\n"
        )
        yield (head + "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
        yield (head + "Max-Forwards: ten\r\nContent-Length: 0\r\n\r\n").encode()
        yield os.urandom(200)


def flood(sip_port: int, sources: int, rate: float, seconds: float, stop: threading.Event) -> int:
    """Send at ``rate`` messages/s in all, spread over the sources, for ``seconds``."""
    socks = []
    for n in range(sources):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # answers: not read
        sock.bind((f"127.0.0.{2 + n}", 0))
        socks.append(sock)
    makers = [garbage(sip_port, s.getsockname()[0], s.getsockname()[1]) for s in socks]
    target = ("127.0.0.1", sip_port)
    sent = 0
    began = time.monotonic()
    try:
        while not stop.is_set() and time.monotonic() - began < seconds:
            for _ in range(50):
                k = sent % sources
                socks[k].sendto(next(makers[k]), target)
                sent += 1
            ahead = began + sent / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    finally:
        for sock in socks:
            sock.close()
    return sent


def calls(work: Path, name: str, sip_port: int, rate: float, seconds: float) -> tuple[int, int]:
    """Legitimate calls (held 1 s) at ``rate``/s for ``seconds``: (successful, failed)."""
    ok, failed, _ = sipp_calls(
        work,
        name,
        sip_port,
        rate,
        int(rate * seconds),
        int(rate * 4),
        1000,
        int(seconds * 2 + 60),
        ("taskset", "-c", others()),
    )
    return ok, failed


def others() -> str:
    cores = sorted(os.sched_getaffinity(0) - {SWITCH_CORE}) or [SWITCH_CORE]
    return ",".join(map(str, cores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood-rate", type=float, default=5000.0, help="messages per second")
    parser.add_argument("--call-rate", type=float, default=50.0, help="calls per second")
    parser.add_argument("--sources", type=int, default=1, help="flood addresses (1-200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    args = parser.parse_args()
    if not 1 <= args.sources <= 200:
        raise SystemExit("--sources must be 1 to 200")
    os.sched_setaffinity(0, {int(c) for c in others().split(",")})

    work = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    sip_port, uas_port, api_port = free_port(), free_port(), free_port()
    config = write_config(work, sip_port, api_port, uas_port)
    switch = start_switch(
        work, config, "INFO", lambda argv: ["taskset", "-c", str(SWITCH_CORE), *argv]
    )
    uas = None
    try:
        wait_healthy(api_port, switch)
        uas = sipp_uas(work, uas_port, ("taskset", "-c", others()))
        _run(args, work, switch, sip_port, uas_port)
    finally:
        if uas is not None:
            terminate(uas, 10)
        terminate(switch)


def _run(
    args: argparse.Namespace, work: Path, switch: subprocess.Popen, sip_port: int, uas_port: int
) -> None:
    pid, seconds = switch.pid, args.seconds
    time.sleep(1.0)
    rss_start = rss_mib(pid)
    cpu0 = cpu_seconds(pid)
    time.sleep(seconds)
    idle = (cpu_seconds(pid) - cpu0) / seconds

    cpu0 = cpu_seconds(pid)
    started = time.monotonic()
    sent = flood(sip_port, args.sources, args.flood_rate, seconds, threading.Event())
    elapsed = time.monotonic() - started
    flood_cpu = cpu_seconds(pid) - cpu0 - idle * elapsed
    rss_flood = rss_mib(pid)
    time.sleep(1.0)

    cpu0 = cpu_seconds(pid)
    started = time.monotonic()
    ok_alone, failed_alone = calls(work, "calls", sip_port, args.call_rate, seconds)
    calls_cpu = cpu_seconds(pid) - cpu0
    calls_elapsed = time.monotonic() - started

    stop = threading.Event()
    flooded = [0]
    sender = threading.Thread(
        target=lambda: flooded.__setitem__(
            0, flood(sip_port, args.sources, args.flood_rate, seconds + 5, stop)
        )
    )
    cpu0 = cpu_seconds(pid)
    drops0, uas_drops0 = udp_drops(sip_port), udp_drops(uas_port)
    started = time.monotonic()
    sender.start()
    time.sleep(1.0)  # the flood is on (and a single source banned) before the calls
    ok, failed = calls(work, "calls_flooded", sip_port, args.call_rate, seconds)
    stop.set()
    sender.join()
    both_cpu = cpu_seconds(pid) - cpu0
    both_elapsed = time.monotonic() - started
    drops = udp_drops(sip_port) - drops0
    uas_drops = udp_drops(uas_port) - uas_drops0
    log_lines = len((work / "switch.log").read_bytes().splitlines())

    print(
        f"flood              {args.flood_rate:.0f} msg/s from {args.sources} source(s), "
        f"{seconds:.0f} s per phase; switch pinned to core {SWITCH_CORE}"
    )
    print(f"switch idle CPU    {100 * idle:.1f}% of one core")
    print(
        f"flood alone        {sent} msgs in {elapsed:.1f} s ({sent / elapsed:.0f}/s): "
        f"{flood_cpu:.2f} s CPU = {1e6 * flood_cpu / sent:.1f} us per message "
        f"({100 * flood_cpu / elapsed:.0f}% of one core)"
    )
    print(f"switch RSS         {rss_start:.1f} MiB before, {rss_flood:.1f} MiB after the flood")
    print(
        f"calls alone        {ok_alone} ok, {failed_alone} failed at {args.call_rate:.0f}/s; "
        f"{100 * calls_cpu / calls_elapsed:.0f}% of one core"
    )
    print(
        f"flood + calls      {ok} ok, {failed} failed at {args.call_rate:.0f}/s "
        f"({flooded[0]} flood msgs); {100 * both_cpu / both_elapsed:.0f}% of one core; "
        f"datagrams dropped at full socket buffers: switch {drops}, sipp UAS {uas_drops}"
    )
    print(f"switch log         {log_lines} lines in all (INFO)")
    print(f"files              {work}")


if __name__ == "__main__":
    main()
