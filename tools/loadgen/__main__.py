"""Command line: ``python -m tools.loadgen --switch 127.0.0.1:5060 --password PW ...``.

Prints a summary and, with ``--json FILE``, writes every figure for a harness.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from .run import Options, run


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def _range(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    return int(first), int(last)


def parse_args(argv: list[str] | None = None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m tools.loadgen", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--switch", type=_host_port, required=True, help="switch SIP host:port")
    parser.add_argument("--user", default="101", help="extension to register and call from")
    parser.add_argument("--password", required=True)
    parser.add_argument("--calls", type=int, default=200, help="concurrent calls")
    parser.add_argument("--rate", type=float, default=20.0, help="calls placed per second")
    parser.add_argument("--hold", type=float, default=30.0, help="seconds of the steady window")
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds between the last answer and the window"
    )
    parser.add_argument(
        "--hangup-rate", type=float, default=50.0, help="BYEs per second at the end"
    )
    parser.add_argument("--host", default="127.0.0.1", help="our address (SIP and RTP)")
    parser.add_argument("--uac-port", type=int, default=0, help="caller SIP port (0: any)")
    parser.add_argument(
        "--uas-port", type=int, default=5090, help="callee SIP port (the trunk's host:port)"
    )
    parser.add_argument(
        "--rtp-ports", type=_range, default=(30000, 39999), help="our RTP ports, e.g. 30000-39999"
    )
    parser.add_argument("--prefix", default="5550", help="dialed numbers are PREFIX + 6 digits")
    parser.add_argument("--switch-pid", type=int, help="measure this process's CPU over the window")
    parser.add_argument(
        "--phases",
        type=int,
        default=1,
        help="send batches per 20 ms; streams are spread over them (1: all at once)",
    )
    parser.add_argument(
        "--srtp", action="store_true", help="SRTP on every stream (SDES keys, mandatory)"
    )
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args(argv)
    options = Options(
        switch=args.switch,
        password=args.password,
        user=args.user,
        calls=args.calls,
        rate=args.rate,
        hold=args.hold,
        settle=args.settle,
        hangup_rate=args.hangup_rate,
        host=args.host,
        uac_port=args.uac_port,
        uas_port=args.uas_port,
        rtp_ports=args.rtp_ports,
        prefix=args.prefix,
        switch_pid=args.switch_pid,
        phases=args.phases,
        srtp=args.srtp,
    )
    return options, args


def summary(result: dict[str, Any]) -> str:
    calls = result["calls"]
    lines = [
        f"calls        requested {calls['requested']}  established {calls['established']}  "
        f"dropped {calls['dropped']}  failures {calls['failures'] or 0}  setup p50/p99 "
        f"{calls['setup_ms']['p50']}/{calls['setup_ms']['p99']} ms",
        f"window       {result['window_seconds']} s with {calls['live_in_window']} live calls",
    ]
    for name, d in result["directions"].items():
        e = d["interval_error_ms"]
        lines.append(
            f"{name:<14} sent {d['generator_sent']}  switch sent {d['switch_sent']}  "
            f"seq lost {d['seq_lost']}  e2e lost {d['e2e_lost']}  substituted {d['substituted']}  "
            f"misrouted {d['misrouted']}  "
            f"interval error p50/p99/max {e['p50']}/{e['p99']}/{e['max']} ms"
        )
    cpu = result["cpu"]
    if cpu.get("switch_seconds") is not None:
        lines.append(
            f"switch cpu   {cpu['switch_percent']}% of one core, {cpu['switch_percent_per_call']}% "
            f"per call"
        )
    late = result["generator"]["tick_late_ms"]
    lines.append(
        f"generator    cpu {cpu['generator_percent']}%  "
        f"tick late p99/max {late['p99']}/{late['max']} ms"
        f"  skipped ticks {result['generator']['skipped_ticks']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options, args = parse_args(argv)
    if args.loop == "uvloop":
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    else:
        runner = asyncio.Runner()
    with runner:
        result = runner.run(run(options))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    print(summary(result))
    return 0 if result["calls"]["established"] == options.calls else 1


if __name__ == "__main__":
    sys.exit(main())
