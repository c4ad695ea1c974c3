"""Kamailio as a cluster's front door, run with the configuration the repo ships
(deploy/kamailio/softswitch-front.cfg): its parameters given as -A defines, the nodes
in a dispatcher list file, as a deployment does it."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path

from .kamailio import MODULES_DIR, answers_options, xlog_lines
from .process import PeerError, PeerProcess, wait_until

HOST = "127.0.0.1"
CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "kamailio" / "softswitch-front.cfg"


class KamailioFront:
    """``nodes``: "host:port" of each switch node's SIP listener (dispatcher set 1)."""

    def __init__(
        self,
        workdir: Path,
        port: int,
        nodes: Sequence[str],
        *,
        probe_interval: int = 1,
        node_timeout_ms: int = 1000,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.nodes = [f"sip:{node}" for node in nodes]
        self.ctl_socket = f"/tmp/kamfront-{uuid.uuid4().hex[:12]}.ctl"
        node_list = self.workdir / "nodes.list"
        node_list.write_text("".join(f"1 {uri}\n" for uri in self.nodes))
        defines = {
            "LISTEN": f"udp:{HOST}:{port}",
            "LISTEN_TCP": f"tcp:{HOST}:{port}",
            "DISPATCHER_LIST": f'"{node_list}"',
            "CTL_SOCKET": f'"unix:{self.ctl_socket}"',
            "PROBE_INTERVAL": str(probe_interval),
            "NODE_TIMEOUT": str(node_timeout_ms),
        }
        self.argv = ["kamailio", "-f", str(CONFIG), "-L", MODULES_DIR]
        for name, value in defines.items():
            self.argv += ["-A", f"{name}={value}"]
        self.process = PeerProcess(
            [
                *self.argv,
                *("-DD", "-E", "-m", "32", "-M", "4"),
                *("-Y", str(self.workdir), "-P", str(self.workdir / "kamailio.pid")),
                *("-w", str(self.workdir)),
            ],
            self.workdir / "kamailio.log",
            cwd=self.workdir,
        )

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def check_config(self) -> None:
        out = subprocess.run([*self.argv, "-c"], capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            raise PeerError(f"kamailio -c failed:\n{out.stdout}{out.stderr}")

    def start(self, timeout: float = 10.0) -> KamailioFront:
        self.process.start()
        wait_until(
            lambda: answers_options(HOST, self.port),
            timeout,
            interval=0.1,
            alive=self.process,
            what=f"front door kamailio on {self.address}",
        )
        return self

    def stop(self) -> None:
        self.process.stop()
        Path(self.ctl_socket).unlink(missing_ok=True)

    def node_flags(self) -> dict[str, str]:
        """Each node's dispatcher state: "AP" active, "IP"/"TP" inactive or trying."""
        out = subprocess.run(
            ["kamcmd", "-s", f"unix:{self.ctl_socket}", "dispatcher.list"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return dict(re.findall(r"URI:\s*(\S+)\s+FLAGS:\s*(\S+)", out.stdout))

    def wait_node(self, node: str, active: bool, timeout: float = 10.0) -> None:
        uri = f"sip:{node}"

        def reached() -> bool:
            flags = self.node_flags().get(uri, "")
            return flags.startswith("A") if active else flags[:1] in ("I", "T", "D")

        wait_until(
            reached,
            timeout,
            interval=0.1,
            alive=self.process,
            what=f"{uri} {'active' if active else 'out'} at the front door",
        )

    def log_lines(self, marker: str) -> list[str]:
        return xlog_lines(self.process, marker)
