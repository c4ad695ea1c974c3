"""Self-checks of the namespace test hosts (tests/peers/netns.py): a LAN host and a
host behind a NAT router reach the root namespace, the router rewrites the source
address, its UDP mappings expire, and teardown leaves nothing behind."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.peers.netns import LINK_POOL, NAT_POOL, NetLab, enter, existing

BENCH = ipaddress.ip_network("198.18.0.0/15")

# Sends `payload` from a fixed local port to host:port, prints the reply (or TIMEOUT).
_CLIENT = """
import socket, sys
host, port, local_port, wait = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", local_port))
s.settimeout(wait)
s.sendto(b"ping", (host, port))
try:
    print(s.recvfrom(100)[0].decode())
except TimeoutError:
    print("TIMEOUT")
"""

# Waits for one datagram on a port, prints it (or TIMEOUT).
_LISTENER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(float(sys.argv[2]))
print("READY", flush=True)
try:
    print(s.recvfrom(100)[0].decode(), flush=True)
except TimeoutError:
    print("TIMEOUT", flush=True)
"""


def _echo_socket(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    sock.settimeout(5.0)
    return sock


def _udp_round_trip(lab_ns, server: socket.socket, local_port: int) -> tuple[str, tuple]:
    """The namespace sends "ping" to `server`; we answer "pong:<seen source>" and
    return (what the client printed, the source we saw)."""
    host, port = server.getsockname()
    client = subprocess.Popen(
        lab_ns.argv([sys.executable, "-c", _CLIENT, host, str(port), str(local_port), "5"]),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        data, source = server.recvfrom(100)
        assert data == b"ping"
        server.sendto(f"pong:{source[0]}".encode(), source)
        out, _ = client.communicate(timeout=10)
    finally:
        client.kill()
        client.wait()
    return out.strip(), source


def test_lan_host_reaches_the_root_namespace(netlab: NetLab) -> None:
    host = netlab.lan_host()
    assert ipaddress.ip_address(host.address) in LINK_POOL
    assert ipaddress.ip_address(host.gateway) in LINK_POOL

    with _echo_socket(host.gateway) as server:
        reply, source = _udp_round_trip(host.netns, server, 40000)
    assert source == (host.address, 40000)
    assert reply == f"pong:{host.address}"


def test_nat_rewrites_the_source_address(netlab: NetLab) -> None:
    host = netlab.nat_host(udp_timeout=20)
    assert ipaddress.ip_address(host.address) in NAT_POOL
    assert ipaddress.ip_address(host.public_address) in LINK_POOL
    for address in (host.address, host.public_address, host.gateway):
        assert ipaddress.ip_address(address) in BENCH

    with _echo_socket(host.gateway) as server:
        reply, source = _udp_round_trip(host.netns, server, 40000)
    # The root side sees the router's WAN address, never the private one.
    assert source[0] == host.public_address
    assert reply == f"pong:{host.public_address}"


def _listen(ns, port: int, seconds: float) -> subprocess.Popen[str]:
    listener = subprocess.Popen(
        ns.argv([sys.executable, "-c", _LISTENER, str(port), str(seconds)]),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert listener.stdout is not None
    assert listener.stdout.readline().strip() == "READY"
    return listener


def _heard(listener: subprocess.Popen[str]) -> str:
    try:
        out, _ = listener.communicate(timeout=10)
    finally:
        listener.kill()
    return out.strip()


def test_nat_mapping_expires(netlab: NetLab) -> None:
    timeout = 3
    host = netlab.nat_host(udp_timeout=timeout)
    with _echo_socket(host.gateway) as server:
        _, mapping = _udp_round_trip(host.netns, server, 40000)

        # Within the timeout, a packet to the mapping reaches the host's port.
        listener = _listen(host.netns, 40000, 2.0)
        server.sendto(b"inside", mapping)
        assert _heard(listener) == "inside"

        # Silent for longer than the timeout: the mapping is gone, the packet dropped.
        time.sleep(timeout + 2)
        listener = _listen(host.netns, 40000, 2.0)
        server.sendto(b"expired", mapping)
        assert _heard(listener) == "TIMEOUT"


def test_forward_udp_lets_a_port_range_in(netlab: NetLab) -> None:
    """An office router's port forward: UDP to its WAN address on those ports reaches
    the host with no mapping; other ports still need one."""
    host = netlab.nat_host(udp_timeout=20)
    netlab.forward_udp(host, 40100, 40109)
    with _echo_socket(host.gateway) as outside:
        listener = _listen(host.netns, 40105, 2.0)
        outside.sendto(b"forwarded", (host.public_address, 40105))
        assert _heard(listener) == "forwarded"
        listener = _listen(host.netns, 40110, 2.0)
        outside.sendto(b"not forwarded", (host.public_address, 40110))
        assert _heard(listener) == "TIMEOUT"


def test_enter_moves_only_the_calling_thread(netlab: NetLab) -> None:
    host = netlab.nat_host()
    bound: list[str] = []

    def inside() -> None:
        enter(host.name)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((host.address, 0))  # an address of that namespace only
            bound.append(sock.getsockname()[0])

    thread = threading.Thread(target=inside)
    thread.start()
    thread.join(5)
    assert bound == [host.address]
    # this thread stayed in the root namespace, where that address is not ours
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(OSError):
        sock.bind((host.address, 0))


def test_teardown_leaves_nothing_behind(netns_sweep: None) -> None:
    lab = NetLab()
    try:
        lan = lab.lan_host()
        nat = lab.nat_host(udp_timeout=5)
        tables = nat.router.run(["nft", "list", "tables"])
        assert "table ip nat" in tables
        assert existing(lab.created)
    finally:
        lab.close()
    assert existing(lab.created) == []
    addresses = subprocess.run(
        ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    assert f" {lan.gateway}/" not in addresses
    assert f" {nat.gateway}/" not in addresses


def test_names_fit_interface_names(netlab: NetLab) -> None:
    netlab.nat_host()
    assert netlab.created
    assert all(len(name) <= 15 for name in netlab.created)


@pytest.mark.parametrize("pool", [LINK_POOL, NAT_POOL])
def test_pools_are_inside_the_benchmark_range(pool: ipaddress.IPv4Network) -> None:
    assert pool.subnet_of(BENCH)


def test_baresip_runs_on_a_lan_host(netlab: NetLab, baresip_factory) -> None:
    """A phone in a namespace binds the host's address; the root side reaches it."""
    host = netlab.lan_host()
    phone = baresip_factory("alice", netns_host=host)
    assert phone.process.argv[:4] == ["ip", "netns", "exec", host.name]
    assert phone.contact_uri.startswith(f"sip:alice@{host.address}:")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5.0)
        sock.bind((host.gateway, 0))
        local = sock.getsockname()
        options = (
            f"OPTIONS {phone.contact_uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bKnetns1;rport\r\n"
            f"From: <sip:probe@{local[0]}>;tag=1\r\nTo: <{phone.contact_uri}>\r\n"
            f"Call-ID: netns-probe\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        sock.sendto(options.encode(), (host.address, phone.port))
        reply, source = sock.recvfrom(65536)
    assert source == (host.address, phone.port)
    assert reply.startswith(b"SIP/2.0 200")
