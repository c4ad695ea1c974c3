"""sipp (SIPp 3.6) runs: built-in scenarios (-sn) or XML files in scenarios/.

A run is a subprocess in its own process group; its statistics CSV (-trace_stat
-stf), error log (-trace_err), message log (-trace_msg) and final screens
(-trace_screen) land in a per-run directory, and `SippResult` parses them.

sipp exit codes: 0 all calls succeeded, 1 at least one failed, 97 stopped by an
internal command, 99 normal exit without any call, 255/-1 fatal error.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .process import PeerError, PeerProcess

HOST = "127.0.0.1"
SCENARIOS_DIR = Path(__file__).parent / "scenarios"
BUILTIN = frozenset(
    {
        "uac",
        "uas",
        "regexp",
        "branchc",
        "branchs",
        "uac_pcap",
        "3pcc-C-A",
        "3pcc-C-B",
        "3pcc-A",
        "3pcc-B",
        "ooc_default",
    }
)
# Keys our XML scenarios use, with the values they get unless a test says otherwise.
DEFAULT_KEYS: Mapping[str, str] = {
    "caller": "sipp",
    "expires": "60",
    "authuser": "sipp",
    "authpass": "sipp",
}

_RUN_IDS = itertools.count(1)


def scenario_path(name: str) -> Path:
    """tests/peers/scenarios/<name>.xml (name given with or without .xml)."""
    path = SCENARIOS_DIR / (name if name.endswith(".xml") else f"{name}.xml")
    if not path.exists():
        raise FileNotFoundError(path)
    return path


@dataclass(slots=True)
class SippResult:
    returncode: int
    successful: int
    failed: int
    stats: dict[str, str]  # last row of the statistics CSV
    screen: str  # the final screens sipp dumps at exit
    errors: str  # unexpected messages and other errors
    messages_log: Path | None
    workdir: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.failed == 0

    def counter(self, name: str) -> int:
        """A cumulative counter from the CSV, e.g. "FailedUnexpectedMessage"."""
        return int(self.stats.get(f"{name}(C)", "0") or 0)

    def messages(self) -> str:
        return self.messages_log.read_text(errors="replace") if self.messages_log else ""

    def describe(self) -> str:
        """Everything worth printing when an assertion on this run fails."""
        return (
            f"sipp exit {self.returncode}: {self.successful} ok, {self.failed} failed "
            f"(files in {self.workdir})\n--- errors ---\n{self.errors[-3000:]}\n"
            f"--- screen ---\n{self.screen[-3000:]}"
        )


@dataclass(slots=True)
class SippOptions:
    scenario: str  # built-in name, name under scenarios/, or a path
    remote: str | None = None  # "host:port"; None for a UAS
    port: int = 0  # local SIP port (-p); 0 = sipp picks
    media_port: int | None = None  # -mp (the SDP's [media_port]); None = sipp's 6000
    calls: int = 1  # -m: stop after this many calls
    rate: float | None = None  # -r calls per second
    limit: int | None = None  # -l simultaneous calls
    duration_ms: int | None = None  # -d: what <pause/> waits
    timeout: float = 15.0  # -timeout with -timeout_error
    service: str | None = None  # -s: request URI user
    auth: tuple[str, str] | None = None  # -au / -ap
    keys: Mapping[str, str] = field(default_factory=dict)  # -key name value
    transport: str = "u1"  # -t u1 | t1 | un ...
    rtp_echo: bool = False
    trace_msg: bool = True
    extra_args: Sequence[str] = ()

    def argv(self, workdir: Path) -> list[str]:
        argv = ["sipp"]
        if self.remote:
            argv.append(self.remote)
        if self.scenario in BUILTIN:
            argv += ["-sn", self.scenario]
        else:
            # sipp runs in its own directory: hand it an absolute path.
            path = Path(self.scenario)
            argv += [
                "-sf",
                str(
                    path.resolve()
                    if path.suffix == ".xml" and path.exists()
                    else scenario_path(self.scenario)
                ),
            ]
        argv += [
            "-i",
            HOST,
            "-p",
            str(self.port),
            "-t",
            self.transport,
            "-m",
            str(self.calls),
            "-timeout",
            f"{self.timeout:g}s",
            "-timeout_error",
            "-trace_stat",
            "-stf",
            str(workdir / "stats.csv"),
            "-fd",
            "1",
            "-trace_err",
            "-error_file",
            str(workdir / "errors.log"),
            "-trace_screen",
            "-screen_file",
            str(workdir / "screen.log"),
        ]
        if self.trace_msg:
            argv += ["-trace_msg", "-message_file", str(workdir / "messages.log")]
        if self.media_port is not None:
            argv += ["-mp", str(self.media_port)]
        if self.rate is not None:
            argv += ["-r", f"{self.rate:g}"]
        if self.limit is not None:
            argv += ["-l", str(self.limit)]
        if self.duration_ms is not None:
            argv += ["-d", str(self.duration_ms)]
        if self.service is not None:
            argv += ["-s", self.service]
        if self.auth is not None:
            argv += ["-au", self.auth[0], "-ap", self.auth[1]]
        if self.rtp_echo:
            argv.append("-rtp_echo")
        for name, value in {**DEFAULT_KEYS, **self.keys}.items():
            argv += ["-key", name, value]
        argv += list(self.extra_args)
        return argv


class Sipp:
    """One sipp run. `run()` blocks; `start()` + `wait()` for a background UAS."""

    def __init__(self, workdir: Path, options: SippOptions) -> None:
        self.options = options
        self.workdir = Path(workdir) / f"sipp-{next(_RUN_IDS)}-{Path(options.scenario).stem}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        # stdin stays an open pipe: sipp polls it for keys, and /dev/null upsets its epoll.
        self.process = PeerProcess(
            options.argv(self.workdir), self.workdir / "sipp.out", cwd=self.workdir, stdin_pipe=True
        )

    @property
    def port(self) -> int:
        return self.options.port

    @property
    def address(self) -> str:
        return f"{HOST}:{self.options.port}"

    def start(self) -> Sipp:
        self.process.start()
        return self

    def wait(self, timeout: float | None = None) -> SippResult:
        """Wait for sipp to exit (default: its own -timeout plus a margin)."""
        limit = timeout if timeout is not None else self.options.timeout + 5.0
        try:
            self.process.wait(limit)
        except Exception as exc:
            self.process.stop()
            raise PeerError(f"sipp did not exit within {limit} s; files in {self.workdir}") from exc
        self.process.stop()
        return self.result()

    def run(self) -> SippResult:
        return self.start().wait()

    def stop(self) -> SippResult:
        """Ask sipp to quit (q, then force), kill what is left, return what it did."""
        if self.process.alive:
            try:
                self.process.write("q")
                self.process.wait(1.0)
            except Exception:
                pass
        if self.process.alive:
            try:
                self.process.write("q")
                self.process.wait(1.0)
            except Exception:
                pass
        self.process.stop()
        return self.result()

    def __enter__(self) -> Sipp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.process.stop()

    def result(self) -> SippResult:
        stats = _last_stats_row(self.workdir / "stats.csv")
        messages = self.workdir / "messages.log"
        code = self.process.returncode
        return SippResult(
            returncode=code if code is not None else -1,
            successful=int(stats.get("SuccessfulCall(C)", "0") or 0),
            failed=int(stats.get("FailedCall(C)", "0") or 0),
            stats=stats,
            screen=_read(self.workdir / "screen.log") or self.process.log_text(),
            errors=_read(self.workdir / "errors.log"),
            messages_log=messages if messages.exists() else None,
            workdir=self.workdir,
        )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _last_stats_row(path: Path) -> dict[str, str]:
    try:
        with open(path, newline="") as f:
            rows = [row for row in csv.reader(f, delimiter=";") if row]
    except FileNotFoundError:
        return {}
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1], strict=False))


def start_sipp(workdir: Path, scenario: str, **options: object) -> Sipp:
    """Start one scenario in the background (a UAS, or a UAC the test acts along with);
    ``wait()`` for its result: start_sipp(tmp, "uas_answer.xml", port=5070)."""
    return Sipp(workdir, SippOptions(scenario=scenario, **options)).start()  # type: ignore[arg-type]


def run_sipp(workdir: Path, scenario: str, **options: object) -> SippResult:
    """Run one scenario to completion: run_sipp(tmp, "uac", remote="127.0.0.1:5060")."""
    return start_sipp(workdir, scenario, **options).wait()
