"""Call setup rate through the switch: sipp UAC -> switch -> sipp UAS behind an IP trunk.

Every call is a complete B2BUA call: digest challenge and answer, INVITE relayed to the
trunk, RTP anchored in the switch and bridged, then BYE relayed. Both sipp peers echo
the RTP they get (``-rtp_echo``), so the switch's 20 ms frames come back to each leg
and are relayed through the bridge to the other: media flows through the switch both
ways for the whole hold (``--no-echo``: the switch only sends). The switch runs pinned
to one core (``taskset``), sipp and this script on the others; the UAS sits on
127.0.0.2 (a carrier is another host: its datagrams do not count against the caller's
flood window). Prints CPU ms per call (the figure that survives a loaded machine),
completed and failed calls, setup latency (INVITE to 200 OK at the caller, the
challenge round trip included) and the datagrams the kernel dropped at the switch.

    .venv/bin/python tools/bench/call_setup.py --rate 300 --seconds 60
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import socket
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

# run as a script: tools/bench is on sys.path
from sipp_switch import (
    BENCH_SCENARIO,
    cpu_seconds,
    sipp_calls,
    sipp_uas,
    start_switch,
    terminate,
    udp_drops,
    wait_healthy,
    write_config,
)

SWITCH_CORE = 0
# One sipp UAC is every caller: one address placing up to hundreds of calls/s (an SBC or
# a PBX in front of the switch). It authenticates, so it is held to trusted_rate
# datagrams/s (5 per call plus retransmissions) and to max_transactions (two per call
# for 32 s): both sized for the rate, as a node meant for such rates would be.
LIMITS = """
[sip_limits]
trusted_rate = 20000
max_transactions = 100000
"""
UAS_HOST = "127.0.0.2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="calls per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to keep the rate")
    parser.add_argument("--hold-ms", type=int, default=1000, help="how long each call lasts")
    parser.add_argument(
        "--no-echo", action="store_true", help="the peers do not echo RTP (switch sends only)"
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin the switch to core 0 (taskset)"
    )
    parser.add_argument("--profile", help="run the switch under cProfile, stats to this file")
    args = parser.parse_args()

    pin = not args.no_pin and len(os.sched_getaffinity(0)) > 1
    others = sorted(os.sched_getaffinity(0) - {SWITCH_CORE}) if pin else []
    sipp_prefix = ("taskset", "-c", ",".join(map(str, others))) if pin else ()
    if pin:
        os.sched_setaffinity(0, set(others))

    def wrap(argv: list[str]) -> list[str]:
        if args.profile:
            argv = [argv[0], "-m", "cProfile", "-o", os.path.abspath(args.profile), *argv[1:]]
        return ["taskset", "-c", str(SWITCH_CORE), *argv] if pin else argv

    work = Path(tempfile.mkdtemp(prefix="bench-setup-"))
    sip_port, uas_port, api_port, metrics_port, *echo_ports = distinct_ports(6)
    config = write_config(
        work,
        sip_port,
        api_port,
        uas_port,
        uas_host=UAS_HOST,
        extra=LIMITS + f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n',
    )
    switch = start_switch(work, config, "WARNING", wrap)
    try:
        wait_healthy(api_port, switch)
        ports = (sip_port, uas_port, metrics_port, *echo_ports)
        _bench(args, work, switch.pid, ports, pin, sipp_prefix)
    finally:
        terminate(switch, 60)


def _bench(
    args: argparse.Namespace,
    work: Path,
    pid: int,
    ports: tuple[int, ...],
    pin: bool,
    prefix: tuple[str, ...],
) -> None:
    sip_port, uas_port, metrics_port, echo_uas_port, echo_uac_port = ports
    calls = int(args.rate * args.seconds)
    limit = int(args.rate * (args.hold_ms / 1000 + 2)) + 50
    echo_uas = () if args.no_echo else ("-rtp_echo", "-mp", str(echo_uas_port))
    echo_uac = () if args.no_echo else ("-rtp_echo", "-mp", str(echo_uac_port))
    uas = sipp_uas(work, uas_port, prefix, host=UAS_HOST, extra=echo_uas)
    time.sleep(0.5)
    rtp_before = _rtp_packets(metrics_port)
    drops_before = udp_drops(sip_port)
    rss_before = _rss_mib(pid)
    cpu_before = cpu_seconds(pid)
    started = time.monotonic()
    ok, failed, status = sipp_calls(
        work,
        "uac",
        sip_port,
        args.rate,
        calls,
        limit,
        args.hold_ms,
        int(args.seconds * 2 + 60),
        prefix,
        (*echo_uac, "-trace_rtt", "-rtt_freq", "100"),
        BENCH_SCENARIO,
    )
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(pid) - cpu_before
    drops = udp_drops(sip_port) - drops_before
    rss_after = _rss_mib(pid)
    rtp_after = _rtp_packets(metrics_port)
    terminate(uas, 10)
    setup = _setup_ms(work)
    # calls are started at the target rate for `seconds`; the run ends when the last hangs up
    setup_window = elapsed - args.hold_ms / 1000
    media = "echoed by both peers" if not args.no_echo else "sent by the switch only"
    print(
        f"target rate        {args.rate:.0f} calls/s for {args.seconds:.0f} s "
        f"({calls} calls, each held {args.hold_ms} ms; digest auth; RTP {media})"
    )
    print(f"switch             {'pinned to core 0' if pin else 'not pinned'}")
    print(f"completed calls    {ok}")
    print(f"failed calls       {failed}  (sipp exit {status})")
    print(f"achieved rate      {ok / setup_window:.1f} calls/s")
    print(
        f"switch CPU         {cpu:.1f} s over {elapsed:.1f} s "
        f"({100 * cpu / elapsed:.0f}% of one core, {1000 * cpu / max(ok, 1):.2f} ms per call)"
    )
    if setup:
        print(
            f"setup latency      p50 {_pct(setup, 50):.1f} ms, p99 {_pct(setup, 99):.1f} ms, "
            f"max {max(setup):.1f} ms (INVITE to 200 OK at the caller, {len(setup)} calls)"
        )
    if rtp_before is not None and rtp_after is not None:
        received = rtp_after[0] - rtp_before[0]
        sent = rtp_after[1] - rtp_before[1]
        print(
            f"RTP at the switch  received {received}, sent {sent} packets "
            f"({received / max(ok, 1):.0f} / {sent / max(ok, 1):.0f} per call)"
        )
    print(f"SIP socket drops   {drops} datagrams (the switch's receive buffer full)")
    print(f"switch RSS         {rss_before:.1f} MiB before, {rss_after:.1f} MiB after")
    print(f"files              {work}")


def _rss_mib(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def distinct_ports(count: int) -> list[int]:
    """``count`` different ports free for both UDP and TCP on 127.0.0.1 just now."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            held.append(udp)
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(tcp)
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return ports


def _rtp_packets(port: int) -> tuple[int, int] | None:
    """The switch's RTP packet counters (received, sent), all legs, from /metrics."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            text = reply.read().decode()
    except OSError:
        return None
    values = dict(re.findall(r"^softswitch_rtp_(packets_\w+)_total (\S+)$", text, re.M))
    try:
        return int(float(values["packets_received"])), int(float(values["packets_sent"]))
    except KeyError:
        return None


def _setup_ms(work: Path) -> list[float]:
    """sipp's response times (the scenario's rtd: first INVITE to 200 OK), in ms."""
    times: list[float] = []
    for path in work.glob("*_rtt.csv"):
        with open(path, newline="") as fh:
            for row in csv.reader(fh, delimiter=";"):
                try:
                    times.append(float(row[1]))
                except (IndexError, ValueError):
                    continue  # the header line
    return times


def _pct(values: list[float], p: int) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[p - 1]
        if len(values) > 1
        else values[0]
    )


if __name__ == "__main__":
    main()
