"""`softswitch serve` raises its soft open-file limit to the hard one at start-up (a real
process started with the usual 1,024, read back from /proc/<pid>/limits)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers.process import wait_until
from tests.test_cli import health, write_config


def open_files_limits(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no Max open files line")


def test_serve_raises_the_soft_open_file_limit(tmp_path, ports, rtp_ports) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 1024:
        pytest.skip(f"the hard limit is {hard}: nothing to raise")
    api_port = ports.port()
    config = write_config(tmp_path, ports.port(), api_port, rtp_ports.block(100))
    server = subprocess.Popen(
        # started with the common default soft limit; exec keeps the pid
        ["sh", "-c", 'ulimit -Sn 1024 && exec "$@"', "sh"]
        + [sys.executable, "-m", "softswitchd", "serve", "--config", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_until(lambda: health(api_port), 15, what="API up")
        soft, now_hard = open_files_limits(server.pid)
        assert now_hard == hard and soft == hard
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=20)
    assert f"open-file limit raised from 1024 to {hard}" in out + err
