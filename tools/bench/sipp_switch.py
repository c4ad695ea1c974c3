"""The switch as a process between sipp peers, for the benchmarks that load it with calls.

The switch (`softswitchd serve`) gets extension 101 (password ``PASSWORD``) and an IP
trunk to a sipp UAS; sipp's UAC places digest-authenticated calls as 101 to a number the
trunk takes. Used by call_setup.py, sip_flood.py and bridged_calls.py (run as scripts:
tools/bench is on sys.path).
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "peers" / "scenarios" / "uac_auth_call.xml"
# the same caller, tolerant of a retransmitted 401 (see the file's comment)
BENCH_SCENARIO = Path(__file__).resolve().parent / "uac_auth_call_bench.xml"
PASSWORD = "bench101"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def udp_drops(port: int) -> int:
    """Datagrams the kernel dropped at the switch's SIP socket (its receive buffer full)."""
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            return int(fields[-1])
    return 0


def write_config(
    work: Path,
    sip_port: int,
    api_port: int,
    uas_port: int,
    rtp_extra: str = "",
    trunk: str = "far",
    uas_host: str = "127.0.0.1",
    extra: str = "",
) -> Path:
    """The switch's config in ``work``: 101 and a trunk to the UAS at ``uas_host:uas_port``;
    ``extra`` is appended (more sections)."""
    config = work / "switch.toml"
    config.write_text(f'''
[sip]
listen = "127.0.0.1:{sip_port}"
[rtp]
address = "127.0.0.1"
ports = "40000-49999"
{rtp_extra}
[api]
listen = "127.0.0.1:{api_port}"
[store]
path = "{work / "db.sqlite"}"
[media]
recordings_dir = "{work / "recordings"}"
uploads_dir = "{work / "uploads"}"
prompts_dir = "{work / "prompts"}"
[[extensions]]
number = "101"
password = "{PASSWORD}"
[[trunks]]
name = "{trunk}"
host = "{uas_host}:{uas_port}"
register = false
{extra}''')
    return config


def start_switch(
    work: Path,
    config: Path,
    log_level: str,
    wrap: Callable[[list[str]], list[str]] = list,
    **popen: Any,
) -> subprocess.Popen:
    """`softswitchd serve` in ``work``, its log in switch.log; ``wrap`` may pin it (exec:
    the same pid)."""
    argv = [sys.executable, "-m", "softswitchd", "serve", "--config", str(config)]
    # the child keeps its own copy of the log's descriptor
    with open(work / "switch.log", "w") as log:
        return subprocess.Popen(
            wrap([*argv, "--log-level", log_level]),
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=log,
            **popen,
        )


def wait_healthy(api_port: int, switch: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if switch.poll() is not None:
            raise SystemExit(f"switch exited with {switch.returncode} before it came up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("switch did not come up")


def terminate(process: subprocess.Popen, timeout: float = 20.0) -> None:
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def sipp_uas(
    work: Path,
    port: int,
    prefix: Sequence[str] = (),
    host: str = "127.0.0.1",
    extra: Sequence[str] = (),
) -> subprocess.Popen:
    """sipp's built-in UAS on ``host:port``, the trunk's far end (answers, then takes the
    BYE); ``extra`` are more sipp options (e.g. ``-rtp_echo -mp PORT``)."""
    return subprocess.Popen(
        [
            *prefix,
            *("sipp", "-sn", "uas", "-i", host, "-p", str(port), "-nostdin", *extra),
            *("-trace_stat", "-stf", str(work / "uas.csv")),
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class SippCalls(NamedTuple):
    ok: int
    failed: int
    exit_status: int


def sipp_calls(
    work: Path,
    name: str,
    sip_port: int,
    rate: float,
    count: int,
    limit: int,
    hold_ms: int,
    timeout_s: int,
    prefix: Sequence[str] = (),
    extra: Sequence[str] = (),
    scenario: Path = SCENARIO,
) -> SippCalls:
    """``count`` calls from 101 at ``rate``/s (at most ``limit`` at once), each held
    ``hold_ms``; sipp's statistics go to ``name``.csv, its errors to ``name``_errors.log;
    ``extra`` are more sipp options."""
    stats = work / f"{name}.csv"
    done = subprocess.run(
        [
            *prefix,
            *("sipp", f"127.0.0.1:{sip_port}", "-sf", str(scenario), "-s", "5550100"),
            *("-i", "127.0.0.1", "-p", str(free_port()), "-au", "101", "-ap", PASSWORD),
            *("-key", "caller", "101", "-r", str(rate), "-m", str(count)),
            *("-l", str(limit), "-d", str(hold_ms), "-nostdin"),
            *("-timeout", f"{timeout_s}s", "-timeout_error"),
            *("-trace_stat", "-stf", str(stats), "-fd", "1"),
            *("-trace_err", "-error_file", str(work / f"{name}_errors.log")),
            *extra,
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with open(stats, newline="") as fh:
        rows = [r for r in csv.reader(fh, delimiter=";") if r]
    last = dict(zip(rows[0], rows[-1], strict=False))
    return SippCalls(int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"]), done.returncode)
