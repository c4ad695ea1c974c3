"""Call setup rate through the switch: sipp UAC -> switch -> sipp UAS behind an IP trunk.

Every call is a complete B2BUA call: digest challenge and answer, INVITE relayed to the
trunk, RTP anchored and bridged (the switch sends 20 ms frames on both legs while the
call lasts), then BYE relayed. Prints the achieved rate and failed calls.

    .venv/bin/python tools/bench/call_setup.py --rate 100 --seconds 60
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "peers" / "scenarios" / "uac_auth_call.xml"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_healthy(api_port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("switch did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="calls per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to keep the rate")
    parser.add_argument("--hold-ms", type=int, default=1000, help="how long each call lasts")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-setup-"))
    sip_port, uas_port, uac_port, api_port = free_port(), free_port(), free_port(), free_port()
    config = work / "switch.toml"
    config.write_text(f'''
[sip]
listen = "127.0.0.1:{sip_port}"
[rtp]
address = "127.0.0.1"
ports = "40000-49999"
[api]
listen = "127.0.0.1:{api_port}"
[store]
path = "{work / "db.sqlite"}"
[[extensions]]
number = "101"
password = "bench101"
[[trunks]]
name = "far"
host = "127.0.0.1:{uas_port}"
register = false
''')
    # the child keeps its own copy of the log's descriptor
    with open(work / "switch.log", "w") as log:
        switch = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "softswitchd",
                "serve",
                "--config",
                str(config),
                "--log-level",
                "WARNING",
            ],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        wait_healthy(api_port)
        _bench(args, work, switch, sip_port, uas_port, uac_port)
    finally:
        switch.terminate()
        switch.wait(20)


def _bench(
    args, work: Path, switch: subprocess.Popen, sip_port: int, uas_port: int, uac_port: int
) -> None:
    calls = int(args.rate * args.seconds)
    limit = str(int(args.rate * (args.hold_ms / 1000 + 2)) + 50)
    uas = subprocess.Popen(
        [
            "sipp",
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-p",
            str(uas_port),
            "-nostdin",
            "-trace_stat",
            "-stf",
            str(work / "uas.csv"),
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    cpu_before = cpu_seconds(switch.pid)
    started = time.monotonic()
    uac = subprocess.run(
        [
            "sipp",
            f"127.0.0.1:{sip_port}",
            "-sf",
            str(SCENARIO),
            "-s",
            "5550100",
            "-i",
            "127.0.0.1",
            "-p",
            str(uac_port),
            "-au",
            "101",
            "-ap",
            "bench101",
            "-key",
            "caller",
            "101",
            "-r",
            str(args.rate),
            "-m",
            str(calls),
            "-l",
            limit,
            "-d",
            str(args.hold_ms),
            "-nostdin",
            "-timeout",
            f"{int(args.seconds * 2 + 60)}s",
            "-timeout_error",
            "-trace_stat",
            "-stf",
            str(work / "uac.csv"),
            "-fd",
            "1",
            "-trace_err",
            "-error_file",
            str(work / "uac_errors.log"),
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(switch.pid) - cpu_before
    uas.terminate()
    uas.wait(10)
    with open(work / "uac.csv", newline="") as fh:
        rows = [r for r in csv.reader(fh, delimiter=";") if r]
    last = dict(zip(rows[0], rows[-1], strict=False))
    ok = int(last["SuccessfulCall(C)"])
    failed = int(last["FailedCall(C)"])
    # calls are started at the target rate for `seconds`; the run ends when the last hangs up
    setup_window = elapsed - args.hold_ms / 1000
    print(
        f"target rate        {args.rate:.0f} calls/s for {args.seconds:.0f} s "
        f"({calls} calls, each held {args.hold_ms} ms)"
    )
    print(f"successful calls   {ok}")
    print(f"failed calls       {failed}  (sipp exit {uac.returncode})")
    print(f"achieved rate      {ok / setup_window:.1f} calls/s")
    print(
        f"switch CPU         {cpu:.1f} s over {elapsed:.1f} s "
        f"({100 * cpu / elapsed:.0f}% of one core, {1000 * cpu / max(ok, 1):.2f} ms per call)"
    )
    print(f"files              {work}")


if __name__ == "__main__":
    main()
