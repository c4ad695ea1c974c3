"""Benchmark: a /metrics scrape with 400 live bridged calls (issue 13: under 20 ms).

The switch runs as `softswitch serve` (core 0) with `[metrics] token`, and the load
generator of the bridged-call benchmark (tools/loadgen, core 1) sets up --calls calls,
each an extension leg and a trunk leg with RTP both ways every 20 ms (so 2 x --calls
legs). Once every call is up, /metrics is scraped --scrapes times over HTTP, one every
--interval seconds, as Prometheus would; each scrape's wall time (request to last byte,
on the client) is what is reported: median, p95, max, and the body's size, beside the
switch's own time for each (softswitch_metrics_render_seconds, shown by the next one). Each scrape
is also read: the live legs it counts (reported) and the RTP packets (which must grow).

    .venv/bin/python tools/bench/metrics.py [--calls 400] [--scrapes 200] [--priority rt]

On a shared machine the switch with 400 calls needs most of a core: --priority rt
(SCHED_FIFO, as in bridged_calls.py) keeps other processes' load out of the figure.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bridged_calls as bench  # noqa: E402  (its switch config, pinning, fd limit)

TOKEN = "bench-metrics-token-0123456789"
TARGET_MS = 20.0


def scrape(port: int) -> tuple[float, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return time.perf_counter() - started, body


def sample(body: bytes, name: str) -> float:
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rate", type=float, default=40.0, help="calls set up per second")
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between scrapes")
    parser.add_argument("--switch-core", type=int, default=0)
    parser.add_argument("--loadgen-core", type=int, default=1)
    parser.add_argument(
        "--priority",
        choices=("normal", "nice", "rt"),
        default="normal",
        help="scheduling of switch and generator (a shared machine: rt keeps others out)",
    )
    args = parser.parse_args()
    os.chdir(bench.ROOT)
    work = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    sip_port, uas_port = bench.free_port(), bench.free_port()
    api_port = bench.free_port(socket.SOCK_STREAM)
    config = bench.write_config(work, sip_port, api_port, uas_port)
    config.write_text(config.read_text() + f'\n[metrics]\ntoken = "{TOKEN}"\n')
    python = sys.executable
    hold = 900  # the generator outlives the scrapes; it is stopped after them
    with open(work / "switch.log", "w") as log:
        switch = subprocess.Popen(
            bench.pinned(
                args.switch_core,
                [
                    python,
                    "-m",
                    "softswitchd",
                    "serve",
                    "--config",
                    str(config),
                    "--log-level",
                    "WARNING",
                ],
                args.priority,
            ),
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=log,
            preexec_fn=bench.raise_fd_limit,
        )
    generator = None
    try:
        bench.wait_healthy(api_port, switch)
        idle = [scrape(api_port)[0] * 1000.0 for _ in range(20)]
        generator = subprocess.Popen(
            bench.pinned(
                args.loadgen_core,
                [
                    python,
                    "-m",
                    "tools.loadgen",
                    "--switch",
                    f"127.0.0.1:{sip_port}",
                    "--password",
                    bench.PASSWORD,
                    "--calls",
                    str(args.calls),
                    "--rate",
                    str(args.rate),
                    "--hold",
                    str(hold),
                    "--settle",
                    "1",
                    "--uas-port",
                    str(uas_port),
                    "--rtp-ports",
                    "30000-39999",
                ],
                args.priority,
            ),
            cwd=bench.ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=bench.raise_fd_limit,
        )
        legs = 2 * args.calls
        deadline = time.monotonic() + args.calls / args.rate * 3 + 60
        while True:
            _, body = scrape(api_port)
            if sample(body, "softswitch_bridged_calls_active") >= args.calls:
                break
            if time.monotonic() > deadline or generator.poll() is not None:
                raise SystemExit(f"calls did not all come up: {body[:2000].decode()}")
            time.sleep(0.5)
        times: list[float] = []
        packets = 0.0
        counted: list[float] = []
        renders: list[float] = []
        for _ in range(args.scrapes):
            took, body = scrape(api_port)
            times.append(took * 1000.0)
            live = sample(body, "softswitch_calls_active")
            received = sample(body, "softswitch_rtp_packets_received_total")
            if received < packets:
                raise SystemExit(f"RTP packets received went down: {packets} -> {received}")
            counted.append(live)
            renders.append(sample(body, "softswitch_metrics_render_seconds") * 1000.0)
            packets = received
            time.sleep(args.interval)
        times.sort()
        median = statistics.median(times)
        p95 = times[int(len(times) * 0.95) - 1]
        print(
            f"{args.calls} live calls ({legs} legs), {args.scrapes} scrapes, "
            f"priority {args.priority}, "
            f"load average {os.getloadavg()[0]:.2f}\n"
            f"idle switch: median {statistics.median(idle):.2f} ms\n"
            f"scrape: median {median:.2f} ms, p95 {p95:.2f} ms, max {times[-1]:.2f} ms, "
            f"{len(body)} bytes; RTP packets received {packets:.0f}\n"
            f"in the switch (gather + format, softswitch_metrics_render_seconds): median "
            f"{statistics.median(renders[1:]):.2f} ms, max {max(renders[1:]):.2f} ms\n"
            f"live legs counted: {min(counted):.0f}-{max(counted):.0f} of {legs}"
            + (" (calls lost to the machine's load)" if min(counted) < legs else "")
            + "\n"
            f"target (median under {TARGET_MS:.0f} ms): {'met' if median < TARGET_MS else 'MISSED'}"
        )
        return 0 if median < TARGET_MS else 1
    finally:
        if generator is not None:
            generator.terminate()
            generator.wait(30)
        switch.terminate()
        try:
            switch.wait(20)
        except subprocess.TimeoutExpired:
            switch.kill()


if __name__ == "__main__":
    sys.exit(main())
