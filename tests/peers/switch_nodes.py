"""Switch nodes of a cluster: each a `softswitchd serve` process of its own, all sharing
one store and trusting one Kamailio front door (tests/peers/kamailio_front.py).

`cluster_store` is the one place saying where the nodes' store is: a fresh database on
the session's PostgreSQL server (tests/peers/postgres.py), as in production.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .postgres import PostgresServer
from .process import PeerProcess, wait_until

HOST = "127.0.0.1"
SECRET = "cluster-secret-for-the-tests"
ACCOUNT = "account_1"
ACCOUNT_AUTH = "secret-one"


def cluster_store(server: PostgresServer) -> dict[str, str]:
    """The [store] table every node of a test's cluster gets: a new database on the
    PostgreSQL server (dropped with the server at the end of the session)."""
    return {"url": server.create_database()}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _table(name: str, values: Mapping[str, Any]) -> str:
    return f"[{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in values.items())


class SwitchNode:
    def __init__(
        self,
        workdir: Path,
        name: str,
        *,
        sip_port: int,
        api_port: int,
        rtp_first: int,
        front_door: str,
        store: dict[str, str],
        extensions: dict[str, str],
        trunks: Sequence[Mapping[str, Any]] = (),
        drain_timeout: int = 0,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.sip_port = sip_port
        self.api_port = api_port
        sections = [
            _table("sip", {"listen": f"{HOST}:{sip_port}", "nat_keepalive": 0}),
            _table("rtp", {"address": HOST, "ports": f"{rtp_first}-{rtp_first + 99}"}),
            _table("api", {"listen": f"{HOST}:{api_port}"}),
            _table("store", store),
            _table(
                "media",
                {
                    "recordings_dir": str(self.workdir / "rec"),
                    "uploads_dir": str(self.workdir / "up"),
                    "prompts_dir": str(self.workdir / "prompts"),
                },
            ),
            _table(
                "cluster",
                {
                    "front_doors": [front_door],
                    "node_id": name,
                    "secret": SECRET,
                    "drain_timeout": drain_timeout,
                },
            ),
        ]
        for number, password in extensions.items():
            sections.append(_table("[extensions]", {"number": number, "password": password}))
        for trunk in trunks:
            sections.append(_table("[trunks]", trunk))
        sections.append(_table("[accounts]", {"id": ACCOUNT, "auth": ACCOUNT_AUTH}))
        self.config_path = self.workdir / "node.toml"
        self.config_path.write_text("\n".join(sections))
        self.process = PeerProcess(
            [sys.executable, "-m", "softswitchd", "serve", "--config", str(self.config_path)],
            self.workdir / "node.log",
            cwd=self.workdir,
        )

    @property
    def sip_address(self) -> str:
        return f"{HOST}:{self.sip_port}"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    def start(self, timeout: float = 30.0) -> SwitchNode:
        self.process.start()
        wait_until(self._healthy, timeout, interval=0.1, alive=self.process, what=self.name)
        return self

    def restart(self, timeout: float = 30.0) -> SwitchNode:
        """The node again, a new process on the same config (after stop or a kill)."""
        self.process.stop()
        self.process = PeerProcess(self.process.argv, self.process.log_path, cwd=self.workdir)
        return self.start(timeout)

    def kill(self) -> None:
        """SIGKILL: the node dies with its calls, as in a crash."""
        self.process.stop(graceful=False)

    def terminate(self) -> None:
        """SIGTERM, without waiting: a node with a drain_timeout goes on with its calls."""
        os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (a drain first, if configured), SIGKILL after ``timeout``."""
        return self.process.stop(timeout)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=1):
                return True
        except (OSError, urllib.error.HTTPError):
            return False

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A CPaaS API request as the test account; its JSON, whatever the status."""
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "account": ACCOUNT,
                "auth": ACCOUNT_AUTH,
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return dict(json.load(response))
        except urllib.error.HTTPError as exc:
            return dict(json.load(exc))

    def log_text(self) -> str:
        return self.process.log_text()
