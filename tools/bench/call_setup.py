"""Call setup rate through the switch: sipp UAC -> switch -> sipp UAS behind an IP trunk.

Every call is a complete B2BUA call: digest challenge and answer, INVITE relayed to the
trunk, RTP anchored and bridged (the switch sends 20 ms frames on both legs while the
call lasts), then BYE relayed. Prints the achieved rate and failed calls.

    .venv/bin/python tools/bench/call_setup.py --rate 100 --seconds 60
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

# run as a script: tools/bench is on sys.path
from sipp_switch import (
    cpu_seconds,
    free_port,
    sipp_calls,
    sipp_uas,
    start_switch,
    terminate,
    wait_healthy,
    write_config,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="calls per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to keep the rate")
    parser.add_argument("--hold-ms", type=int, default=1000, help="how long each call lasts")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-setup-"))
    sip_port, uas_port, api_port = free_port(), free_port(), free_port()
    switch = start_switch(work, write_config(work, sip_port, api_port, uas_port), "WARNING")
    try:
        wait_healthy(api_port, switch)
        _bench(args, work, switch.pid, sip_port, uas_port)
    finally:
        terminate(switch)


def _bench(args: argparse.Namespace, work: Path, pid: int, sip_port: int, uas_port: int) -> None:
    calls = int(args.rate * args.seconds)
    limit = int(args.rate * (args.hold_ms / 1000 + 2)) + 50
    uas = sipp_uas(work, uas_port)
    time.sleep(0.5)
    cpu_before = cpu_seconds(pid)
    started = time.monotonic()
    ok, failed, status = sipp_calls(
        work, "uac", sip_port, args.rate, calls, limit, args.hold_ms, int(args.seconds * 2 + 60)
    )
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(pid) - cpu_before
    terminate(uas, 10)
    # calls are started at the target rate for `seconds`; the run ends when the last hangs up
    setup_window = elapsed - args.hold_ms / 1000
    print(
        f"target rate        {args.rate:.0f} calls/s for {args.seconds:.0f} s "
        f"({calls} calls, each held {args.hold_ms} ms)"
    )
    print(f"successful calls   {ok}")
    print(f"failed calls       {failed}  (sipp exit {status})")
    print(f"achieved rate      {ok / setup_window:.1f} calls/s")
    print(
        f"switch CPU         {cpu:.1f} s over {elapsed:.1f} s "
        f"({100 * cpu / elapsed:.0f}% of one core, {1000 * cpu / max(ok, 1):.2f} ms per call)"
    )
    print(f"files              {work}")


if __name__ == "__main__":
    main()
