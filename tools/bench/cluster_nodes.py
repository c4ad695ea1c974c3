"""Two switch nodes vs one behind the shipped Kamailio front door, in one run: the call
setup rate and bridged calls, and the ratios of the two.

The nodes are `softswitch serve` processes sharing one store (a SQLite file in WAL
mode), each with extension 101 and an IP trunk to one sipp UAS; the front door is
Kamailio with deploy/kamailio/softswitch-front.cfg, its dispatcher list naming one node,
then both. sipp's UAC places digest-authenticated calls as 101 through the front door
(the challenge's retry reaches the node that challenged: hash over the Call-ID); each
node relays them to the UAS and anchors and bridges the RTP (it sends 20 ms frames on
both legs while a call lasts).

Two loads per set of nodes:
  setup    --rate calls/s for --seconds, each held --hold-ms: achieved rate, failures,
           CPU per call of each node and of Kamailio;
  bridged  --bridged calls held together for --bridged-hold seconds: failures and each
           node's CPU while they are all up (the busiest node's share is what limits).

    .venv/bin/python tools/bench/cluster_nodes.py --rate 100 --seconds 30 --bridged 200

On a machine with fewer cores than nodes + Kamailio + sipp the ratios say little: the
figures to compare are the per-call CPU and the busiest node's share of the load.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

# run as a script: tools/bench is on sys.path
from sipp_switch import (
    ROOT,
    cpu_seconds,
    free_port,
    sipp_calls,
    sipp_uas,
    start_switch,
    terminate,
    wait_healthy,
    write_config,
)

FRONT_CONFIG = ROOT / "deploy" / "kamailio" / "softswitch-front.cfg"
MODULES_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
SECRET = "bench-cluster-secret-0123"


@dataclass
class Node:
    name: str
    sip_port: int
    api_port: int
    process: subprocess.Popen[bytes]


@dataclass
class Phase:
    ok: int
    failed: int
    seconds: float  # wall time of the window measured
    node_cpu: list[float]  # CPU seconds of each node over the window
    front_cpu: float


def start_nodes(work: Path, uas_port: int, count: int) -> list[Node]:
    """``count`` nodes sharing ``work``/cluster.db, one after the other (the first makes
    the schema)."""
    nodes = []
    for index in range(count):
        folder = work / f"node-{index}"
        folder.mkdir()
        sip_port, api_port = udp_and_tcp_port(), udp_and_tcp_port()
        config = write_config(folder, sip_port, api_port, uas_port)
        text = config.read_text()
        text = text.replace(str(folder / "db.sqlite"), str(work / "cluster.db"))
        first = 40000 + 5000 * index
        text = text.replace('ports = "40000-49999"', f'ports = "{first}-{first + 4999}"')
        text += (
            f'[cluster]\nfront_doors = ["127.0.0.1"]\nnode_id = "node-{index}"\n'
            f'secret = "{SECRET}"\n'
        )
        config.write_text(text)
        process = start_switch(folder, config, "WARNING")
        wait_healthy(api_port, process)
        nodes.append(Node(f"node-{index}", sip_port, api_port, process))
    return nodes


def udp_and_tcp_port() -> int:
    """A port free for UDP and TCP both (the front door listens on both)."""
    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


class Front:
    """The shipped front door, its dispatcher list naming ``nodes``."""

    def __init__(self, work: Path, nodes: list[Node]) -> None:
        work.mkdir()
        self.port = udp_and_tcp_port()
        self.ctl = f"/tmp/kambench-{uuid.uuid4().hex[:10]}.ctl"
        (work / "nodes.list").write_text("".join(f"1 sip:127.0.0.1:{n.sip_port}\n" for n in nodes))
        defines = {
            "LISTEN": f"udp:127.0.0.1:{self.port}",
            "LISTEN_TCP": f"tcp:127.0.0.1:{self.port}",
            "DISPATCHER_LIST": f'"{work / "nodes.list"}"',
            "CTL_SOCKET": f'"unix:{self.ctl}"',
        }
        argv = ["kamailio", "-f", str(FRONT_CONFIG), "-L", MODULES_DIR, "-DD", "-E"]
        argv += ["-m", "256", "-M", "16", "-w", str(work)]
        for name, value in defines.items():
            argv += ["-A", f"{name}={value}"]
        with open(work / "kamailio.log", "w") as log:
            self.process = subprocess.Popen(
                argv, cwd=work, stdout=log, stderr=log, start_new_session=True
            )
        self.nodes = [f"sip:127.0.0.1:{n.sip_port}" for n in nodes]
        deadline = time.monotonic() + 15
        while not self._all_active():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"front door not up with every node active; see {work}")
            time.sleep(0.2)

    def _all_active(self) -> bool:
        out = subprocess.run(
            ["kamcmd", "-s", f"unix:{self.ctl}", "dispatcher.list"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
        flags = dict(re.findall(r"URI:\s*(\S+)\s+FLAGS:\s*(\S+)", out))
        return all(flags.get(uri, "").startswith("A") for uri in self.nodes)

    def cpu(self) -> float:
        """CPU seconds of the whole process group (kamailio forks its workers)."""
        total = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.process.pid:  # field 5: the process group
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        os.killpg(self.process.pid, 15)
        self.process.wait(10)
        Path(self.ctl).unlink(missing_ok=True)


def measure(
    work: Path,
    name: str,
    front: Front,
    nodes: list[Node],
    rate: float,
    calls: int,
    hold_ms: int,
    window: tuple[float, float],
) -> Phase:
    """sipp's calls through the front door; CPU measured from ``window[0]`` seconds after
    the start for ``window[1]`` seconds (None: the whole run)."""
    start_cpu: list[float] = []
    end_cpu: list[float] = []
    marks: list[float] = []

    def sample(into: list[float]) -> None:
        into += [cpu_seconds(n.process.pid) for n in nodes] + [front.cpu()]
        marks.append(time.monotonic())

    timers = [
        threading.Timer(window[0], sample, [start_cpu]),
        threading.Timer(window[0] + window[1], sample, [end_cpu]),
    ]
    for timer in timers:
        timer.start()
    limit = calls + 10
    result = sipp_calls(
        work, name, front.port, rate, calls, limit, hold_ms, int(calls / rate + hold_ms / 1000 + 60)
    )
    for timer in timers:
        timer.join()
    used = [b - a for a, b in zip(start_cpu, end_cpu, strict=True)]
    return Phase(result.ok, result.failed, marks[1] - marks[0], used[:-1], used[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=60.0, help="setup: calls per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="setup: how long")
    parser.add_argument("--hold-ms", type=int, default=1000, help="setup: each call's length")
    parser.add_argument("--bridged", type=int, default=100, help="bridged: calls up together")
    parser.add_argument("--bridged-hold", type=float, default=20.0, help="bridged: seconds")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    uas_port = free_port()
    uas = sipp_uas(work, uas_port)
    nodes = start_nodes(work, uas_port, 2)
    results: dict[int, tuple[Phase, Phase]] = {}
    try:
        for count in (1, 2):
            front = Front(work / f"front-{count}", nodes[:count])
            try:
                calls = int(args.rate * args.seconds)
                # the steady middle of the run: every second after the first until the
                # last call was started
                setup = measure(
                    work,
                    f"setup-{count}",
                    front,
                    nodes[:count],
                    args.rate,
                    calls,
                    args.hold_ms,
                    (1.0, max(1.0, args.seconds - 1.0)),
                )
                ramp = args.bridged / 50.0  # start them at 50 calls/s
                hold_ms = int((ramp + args.bridged_hold) * 1000)
                bridged = measure(
                    work,
                    f"bridged-{count}",
                    front,
                    nodes[:count],
                    50.0,
                    args.bridged,
                    hold_ms,
                    (ramp + 1.0, max(1.0, args.bridged_hold - 2.0)),
                )
                results[count] = (setup, bridged)
            finally:
                front.stop()
    finally:
        for node in nodes:
            terminate(node.process)
        terminate(uas, 10)
    report(args, results)
    print(f"files              {work}")


def report(args: argparse.Namespace, results: dict[int, tuple[Phase, Phase]]) -> None:
    print(
        f"setup: {args.rate:.0f} calls/s offered for {args.seconds:.0f} s, held {args.hold_ms} ms"
    )
    print(f"bridged: {args.bridged} calls up together for {args.bridged_hold:.0f} s")
    print(
        f"{'nodes':>5} {'load':>8} {'ok':>6} {'failed':>6} {'rate/s':>7} "
        f"{'node CPU % of a core':>24} {'ms CPU/call':>12} {'kamailio %':>10}"
    )
    for count, phases in results.items():
        for label, phase in zip(("setup", "bridged"), phases, strict=True):
            shares = " ".join(f"{100 * c / phase.seconds:5.1f}" for c in phase.node_cpu)
            per_call = ""
            rate = ""
            if label == "setup":
                done = args.rate * phase.seconds  # calls started inside the window
                per_call = f"{1000 * sum(phase.node_cpu) / max(done, 1):.2f}"
                rate = f"{phase.ok / (args.seconds + args.hold_ms / 1000):.1f}"
            print(
                f"{count:>5} {label:>8} {phase.ok:>6} {phase.failed:>6} {rate:>7} "
                f"{shares:>24} {per_call:>12} {100 * phase.front_cpu / phase.seconds:>10.1f}"
            )
    one, two = results[1], results[2]
    print(
        f"setup rate ratio (two/one nodes)          "
        f"{(two[0].ok / max(one[0].ok, 1)):.2f}  (offered the same; >1 when one node saturates)"
    )
    for label, index in (("setup", 0), ("bridged", 1)):
        busiest_one = max(one[index].node_cpu) / one[index].seconds
        busiest_two = max(two[index].node_cpu) / two[index].seconds
        ratio = busiest_two / max(busiest_one, 1e-9)
        print(
            f"{label} busiest node's load, two/one nodes  {ratio:.2f}"
            "  (0.5 = the load split evenly: twice the capacity)"
        )


if __name__ == "__main__":
    main()
