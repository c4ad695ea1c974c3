"""One peer program run as a child in its own process group, logging to a file.

Every peer (baresip, kamailio, sipp, the pyVoIP runner) goes through here so that
stopping one always kills the whole group, children included (kamailio forks
workers), and so that nothing survives the test session even when a test fails
before its teardown runs.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import subprocess
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

_LIVE: weakref.WeakSet[PeerProcess] = weakref.WeakSet()


class PeerError(RuntimeError):
    """A peer did not start, died, or did not do what a test waited for."""


class PeerProcess:
    def __init__(
        self,
        argv: Sequence[str],
        log_path: Path,
        *,
        cwd: Path | None = None,
        stdin_pipe: bool = False,
        env: dict[str, str] | None = None,
        netns: str | None = None,
    ) -> None:
        # In a network namespace (tests/peers/netns.py): `ip netns exec` execs the
        # program itself, so the pid and process group are still the program's.
        self.argv = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
        self.netns = netns
        self.log_path = Path(log_path)
        self.cwd = cwd
        self.stdin_pipe = stdin_pipe
        self.env = env
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self._popen is not None:
            raise PeerError(f"{self.argv[0]} already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # A file, never a pipe: nobody has to drain it, and a daemonizing child
        # cannot leave us blocked on a pipe it inherited. The child has its own copy
        # of the descriptor, so ours is closed at once.
        with open(self.log_path, "ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE if self.stdin_pipe else subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
            )
        _LIVE.add(self)

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise PeerError("not started")
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    @property
    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def write(self, text: str) -> None:
        if self._popen is None or self._popen.stdin is None:
            raise PeerError(f"{self.argv[0]}: no stdin")
        if not self.alive:
            raise PeerError(f"{self.argv[0]} exited with {self.returncode}; log {self.log_path}")
        self._popen.stdin.write(text.encode())
        self._popen.stdin.flush()

    def wait(self, timeout: float) -> int:
        if self._popen is None:
            raise PeerError("not started")
        return self._popen.wait(timeout)

    def stop(self, timeout: float = 3.0, *, graceful: bool = True) -> int | None:
        """SIGTERM the group, SIGKILL it after `timeout` (at once unless `graceful`).
        Safe to call twice."""
        popen = self._popen
        if popen is None:
            return None
        if graceful and popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout)
        # The leader may be gone while workers it forked still run.
        self._signal_group(signal.SIGKILL)
        if popen.poll() is None:
            popen.wait(timeout)
        if popen.stdin is not None:
            with contextlib.suppress(OSError):
                popen.stdin.close()
        _LIVE.discard(self)
        return popen.returncode

    def _signal_group(self, sig: int) -> None:
        assert self._popen is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        proc.stop(timeout=1.0)


def wait_until(
    predicate,
    timeout: float,
    *,
    interval: float = 0.05,
    alive: PeerProcess | None = None,
    what: str = "condition",
):
    """Poll `predicate` until it returns something truthy; return that value.

    Raises PeerError on timeout, or at once when `alive` (the peer that should make
    the condition come true) has exited.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if alive is not None and not alive.alive:
            value = predicate()
            if value:
                return value
            raise PeerError(
                f"{what}: {alive.argv[0]} exited with {alive.returncode}\n"
                f"--- {alive.log_path} ---\n{alive.tail()}"
            )
        if time.monotonic() >= deadline:
            tail = f"\n--- {alive.log_path} ---\n{alive.tail()}" if alive is not None else ""
            raise PeerError(f"timed out after {timeout} s waiting for {what}{tail}")
        time.sleep(interval)


class LogFollower:
    """Reads a growing log file line by line; lines may end in \\n or \\r."""

    _SPLIT = re.compile(r"[\r\n]+")
    # baresip colours warnings and rings the console bell (ESC[10;1000] ... BEL);
    # the codes would break line-start anchors.
    _ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z\]]|\x07")

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = ""

    def new_lines(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        if not chunk:
            return []
        self._offset += len(chunk)
        text = self._ANSI.sub("", self._partial + chunk.decode(errors="replace"))
        parts = self._SPLIT.split(text)
        # The last piece has no line end yet: keep it for the next read.
        self._partial = parts.pop()
        return [p for p in parts if p]
