"""Test hosts in network namespaces: phones on a LAN, and behind a NAT router.

A `LanHost` is a namespace joined to the root namespace (where the switch runs) by a
veth pair: it sees the switch at its root-side address, the switch sees it at its own.
A `NatHost` is a namespace behind a `router` namespace that masquerades everything
it forwards to the root namespace, with UDP mappings that expire after `udp_timeout`
seconds (the router's own nf_conntrack UDP timeouts), like a home router; it may
forward a UDP port range to the host (`NetLab.forward_udp`), like an office router in
front of a PBX. The host's default route is the router, so a program run there (a
phone, or the switch itself: `enter()` moves a thread into a namespace) reaches the
root namespace, the "internet", only through the NAT.

Addresses come ONLY from the benchmark range 198.18.0.0/15 (RFC 2544): 198.18.0.0/16
is cut into /30 links between the root namespace and a host or a router's WAN side;
198.19.N.0/24 is the private network behind router N. So no test ever addresses
anything outside this machine.

Names carry a per-process tag (`sst-<pid in base 36>-...`): every namespace, and the
veth and nft table inside it, goes away when the namespace is deleted, at teardown,
and `sweep()` removes what a dead test run (a killed pytest) left behind. Needs root,
iproute2 and nftables (tools/test installs nftables).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import ipaddress
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "sst-"
LINK_POOL = ipaddress.ip_network("198.18.0.0/16")
NAT_POOL = ipaddress.ip_network("198.19.0.0/16")
_LOCK_DIR = Path(tempfile.gettempdir()) / "softswitch-netns"
# Serial numbers for names, unique across every lab of this process.
_SERIAL = itertools.count(1)
CLONE_NEWNET = 0x40000000  # <sched.h>; os.setns arrives only with Python 3.12


class NetnsError(RuntimeError):
    """A namespace, link or nft rule could not be set up."""


def available() -> str | None:
    """None when namespaces can be built here, else why not (for pytest.skip)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    missing = [p for p in ("ip", "nft") if shutil.which(p) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (tools/test installs nftables)"
    return None


def run(argv: Sequence[str], *, input: str | None = None) -> str:
    """Run a setup command; its stderr becomes the error."""
    done = subprocess.run(list(argv), capture_output=True, text=True, input=input, timeout=10)
    if done.returncode != 0:
        raise NetnsError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def enter(name: str) -> None:
    """Move the calling thread into namespace `name` (setns(2) on /run/netns/NAME).

    Only this thread moves: the sockets it opens from then on, and the threads and
    processes it starts, live in that namespace, while the rest of the process stays.
    That is how a switch runs on a namespace host inside the test process (its loop
    thread moves), with the test driving it and the peers from the root namespace.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise NetnsError(f"setns into {name}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def _tag_pid(name: str) -> int | None:
    """The pid of the run that made `name` (sst-<pid36>-...), None if not ours."""
    if not name.startswith(PREFIX):
        return None
    with contextlib.suppress(ValueError):
        return int(name[len(PREFIX) :].split("-", 1)[0], 36)
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _namespaces() -> list[str]:
    return [line.split()[0] for line in run(["ip", "netns", "list"]).splitlines() if line]


def _root_links() -> list[str]:
    out = run(["ip", "-o", "link", "show"])
    return [line.split(": ")[1].split("@")[0] for line in out.splitlines() if ": " in line]


def sweep(*, mine: bool = False) -> list[str]:
    """Delete namespaces and root-side links left by test runs that are gone (and
    this process's own too, with mine). Returns what was removed."""

    def stale(pid: int | None) -> bool:
        return pid is not None and ((mine and pid == os.getpid()) or not _pid_alive(pid))

    removed = []
    for name in _namespaces():
        if stale(_tag_pid(name)):
            with contextlib.suppress(NetnsError):
                run(["ip", "netns", "delete", name])
                removed.append(name)
    for link in _root_links():
        if stale(_tag_pid(link)):
            with contextlib.suppress(NetnsError):
                run(["ip", "link", "delete", link])
                removed.append(link)
    return removed


def existing(names: Sequence[str]) -> list[str]:
    """Those of `names` still present as a namespace or a root-namespace link."""
    present = set(_namespaces()) | set(_root_links())
    return [n for n in names if n in present]


class _SubnetLock:
    """A /30 (or /24) handed to one lab; an flock keeps two pytest runs apart."""

    def __init__(self, network: ipaddress.IPv4Network) -> None:
        _LOCK_DIR.mkdir(exist_ok=True)
        self.network = network
        path = _LOCK_DIR / f"{network.network_address}-{network.prefixlen}"
        self._fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


@dataclass(slots=True)
class Namespace:
    name: str

    def argv(self, argv: Sequence[str]) -> list[str]:
        """`argv` run inside this namespace (ip netns exec execs it: same pid)."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, argv: Sequence[str], *, input: str | None = None) -> str:
        return run(self.argv(argv), input=input)

    def sysctl(self, key: str, value: str | int) -> None:
        self.run(["sysctl", "-q", "-w", f"{key}={value}"])


@dataclass(slots=True)
class LanHost:
    """A host on a link of its own to the root namespace.

    `address` is the host's, `gateway` the root namespace's end of the link: the
    address through which the switch (listening on 0.0.0.0) reaches this host.
    """

    netns: Namespace
    address: str
    gateway: str

    @property
    def name(self) -> str:
        return self.netns.name


@dataclass(slots=True)
class NatHost:
    """A host on a private network behind a masquerading router.

    The root namespace sees the host's packets from `public_address` (the router's
    WAN address); `gateway` is the root namespace's end of the router's WAN link.
    """

    netns: Namespace
    address: str
    router: Namespace
    public_address: str
    gateway: str
    udp_timeout: int
    wan_if: str  # the router's interface on the WAN link

    @property
    def name(self) -> str:
        return self.netns.name


@dataclass
class NetLab:
    """Builds test hosts for one test and removes them all in `close()`."""

    tag: str = field(default_factory=lambda: f"{PREFIX}{_base36(os.getpid())}-")
    created: list[str] = field(default_factory=list)  # every name made, for checks
    _namespaces: list[Namespace] = field(default_factory=list)
    _links: list[str] = field(default_factory=list)
    _locks: list[_SubnetLock] = field(default_factory=list)

    # -- building blocks -----------------------------------------------------------------

    def _name(self, kind: str) -> str:
        # Interface names are at most 15 bytes; the tag is at most 10 of them.
        name = f"{self.tag}{kind}{next(_SERIAL)}"
        self.created.append(name)
        return name

    def _namespace(self, kind: str) -> Namespace:
        ns = Namespace(self._name(kind))
        run(["ip", "netns", "add", ns.name])
        self._namespaces.append(ns)
        ns.run(["ip", "link", "set", "lo", "up"])
        return ns

    def _subnet(self, pool: ipaddress.IPv4Network, prefix: int) -> ipaddress.IPv4Network:
        used = run(["ip", "-4", "-o", "addr", "show"])
        for net in pool.subnets(new_prefix=prefix):
            if f" {next(net.hosts())}/" in used:
                continue
            try:
                lock = _SubnetLock(net)
            except OSError:
                continue
            self._locks.append(lock)
            return net
        raise NetnsError(f"no free /{prefix} left in {pool}")

    def _link_to_root(self, ns: Namespace) -> tuple[str, str, str]:
        """A veth pair root <-> ns on a fresh /30: (root address, ns address, ns ifname)."""
        net = self._subnet(LINK_POOL, 30)
        root_addr, ns_addr = (str(a) for a in net.hosts())
        root_if = self._name("r")
        ns_if = self._name("n")
        run(["ip", "link", "add", root_if, "type", "veth", "peer", "name", ns_if])
        self._links.append(root_if)
        run(["ip", "link", "set", ns_if, "netns", ns.name])
        run(["ip", "addr", "add", f"{root_addr}/30", "dev", root_if])
        run(["ip", "link", "set", root_if, "up"])
        ns.run(["ip", "addr", "add", f"{ns_addr}/30", "dev", ns_if])
        ns.run(["ip", "link", "set", ns_if, "up"])
        return root_addr, ns_addr, ns_if

    # -- hosts ---------------------------------------------------------------------------

    def lan_host(self) -> LanHost:
        ns = self._namespace("h")
        root_addr, ns_addr, _ = self._link_to_root(ns)
        # Everything, the switch's other addresses included, goes through the root end.
        ns.run(["ip", "route", "add", "default", "via", root_addr])
        return LanHost(ns, ns_addr, root_addr)

    def nat_host(self, udp_timeout: int = 20) -> NatHost:
        router = self._namespace("g")
        root_addr, wan_addr, wan_if = self._link_to_root(router)
        router.run(["ip", "route", "add", "default", "via", root_addr])
        router.sysctl("net.ipv4.ip_forward", 1)

        host = self._namespace("h")
        private = self._subnet(NAT_POOL, 24)
        router_lan, host_addr = (str(a) for a in list(private.hosts())[:2])
        lan_router_if, lan_host_if = self._name("l"), self._name("m")
        router.run(
            ["ip", "link", "add", lan_router_if, "type", "veth", "peer", "name", lan_host_if]
        )
        router.run(["ip", "link", "set", lan_host_if, "netns", host.name])
        router.run(["ip", "addr", "add", f"{router_lan}/24", "dev", lan_router_if])
        router.run(["ip", "link", "set", lan_router_if, "up"])
        host.run(["ip", "addr", "add", f"{host_addr}/24", "dev", lan_host_if])
        host.run(["ip", "link", "set", lan_host_if, "up"])
        host.run(["ip", "route", "add", "default", "via", router_lan])

        router.run(
            ["nft", "-f", "-"],
            input=(
                "table ip nat {\n"
                "  chain postrouting {\n"
                "    type nat hook postrouting priority srcnat; policy accept;\n"
                f'    oifname "{wan_if}" masquerade\n'
                "  }\n"
                "}\n"
                # Like a home router: nothing from outside gets in without a mapping.
                "table ip filter {\n"
                "  chain forward {\n"
                "    type filter hook forward priority filter; policy drop;\n"
                f'    iifname "{lan_router_if}" accept\n'
                "    ct state established,related accept\n"
                # what forward_udp() lets in on purpose
                "    ct status dnat accept\n"
                "  }\n"
                "}\n"
            ),
        )
        # The conntrack sysctls are per namespace; they exist once the nat table has
        # loaded conntrack. "stream" is the timeout once replies were seen (assured).
        router.sysctl("net.netfilter.nf_conntrack_udp_timeout", udp_timeout)
        router.sysctl("net.netfilter.nf_conntrack_udp_timeout_stream", udp_timeout)
        return NatHost(host, host_addr, router, wan_addr, root_addr, udp_timeout, wan_if)

    def forward_udp(self, host: NatHost, first: int, last: int) -> None:
        """Port forwarding, as an office router does for a PBX's RTP ports: UDP to
        the router's WAN address on ports first..last goes to the same ports of `host`.
        Everything else from outside still needs a mapping."""
        host.router.run(
            ["nft", "-f", "-"],
            input=(
                "table ip nat {\n"
                "  chain prerouting {\n"
                "    type nat hook prerouting priority dstnat; policy accept;\n"
                f'    iifname "{host.wan_if}" udp dport {first}-{last} dnat to {host.address}\n'
                "  }\n"
                "}\n"
            ),
        )

    # -- teardown ------------------------------------------------------------------------

    def close(self) -> None:
        """Delete every namespace (and with it the veths and nft tables inside) and
        every root-side link; keeps going past failures, raises the first."""
        errors: list[Exception] = []
        for ns in reversed(self._namespaces):
            try:
                run(["ip", "netns", "delete", ns.name])
            except NetnsError as exc:
                errors.append(exc)
        self._namespaces.clear()
        for link in self._links:
            # Normally gone with its peer end's namespace, though the kernel may still
            # be removing it: only a link that is still there after a failure counts.
            try:
                run(["ip", "link", "delete", link])
            except NetnsError as exc:
                if link in _root_links():
                    errors.append(exc)
        self._links.clear()
        for lock in self._locks:
            lock.release()
        self._locks.clear()
        if errors:
            raise errors[0]
