"""Idle SIP TCP connections by the thousand against a real `softswitch serve` started
with the usual 1,024 open-file limit: those beyond the caps are closed at once, the
server's descriptors stay bounded, `/health` answers throughout, and phones registered
over TCP still call each other. And the idle timeout spares a registered phone's flow.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.process import PeerProcess, wait_until
from tests.test_cli import health, write_config

# bounded soaks: run in the slow group (tools/test runs it after the main suite)
pytestmark = [pytest.mark.peers, pytest.mark.slow]

FLOOD = 1500
SOURCES = 30  # 127.0.0.2 ... 127.0.0.31, 50 connections each
MAX_CONNECTIONS = 400
PER_SOURCE = 30


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def tcp_phone(phone_factory, number: str, sip_port: int) -> Baresip:
    account = BaresipAccount(
        number, f"pw{number}", registrar=f"127.0.0.1:{sip_port}", transport="tcp"
    )
    phone = phone_factory(account)
    assert phone.wait_registered().fields["transport"] == "TCP"
    return phone


def flood(sip_port: int) -> list[socket.socket]:
    """FLOOD connected sockets, from SOURCES loopback addresses, that never send a byte."""
    socks = []
    for i in range(FLOOD):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        socks.append(sock)
        sock.settimeout(5)
        # 50 from one address, then the next: the per-source cap first, then the total
        sock.bind((f"127.0.0.{2 + i // (FLOOD // SOURCES)}", 0))
        sock.connect(("127.0.0.1", sip_port))
    return socks


@pytest.fixture
def more_open_files():
    """The flood's own 1,500 sockets need more than the usual 1,024 in this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < FLOOD + 500:
        pytest.skip(f"the hard open-file limit {hard} is too low for the flood")
    wanted = FLOOD + 1000 if hard == resource.RLIM_INFINITY else min(hard, FLOOD + 1000)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_connection_flood_is_capped_and_health_and_calls_go_on(
    tmp_path: Path, ports, rtp_ports, phone_factory, more_open_files
) -> None:
    sip_port, api_port = ports.port(), ports.port()
    config = write_config(
        tmp_path,
        sip_port,
        api_port,
        rtp_ports.block(100),
        extra=f"""
[sip_connections]
max_connections = {MAX_CONNECTIONS}
max_connections_per_source = {PER_SOURCE}
message_timeout = 120
[[extensions]]
number = "101"
password = "pw101"
[[extensions]]
number = "102"
password = "pw102"
""",
    )
    log = tmp_path / "server.log"
    server = PeerProcess(
        # soft and hard 1,024: the server cannot raise it (exec keeps the pid)
        ["sh", "-c", 'ulimit -n 1024 && exec "$@"', "sh"]
        + [sys.executable, "-m", "softswitchd", "serve", "--config", str(config)],
        log,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server.start()
    socks: list[socket.socket] = []
    try:
        wait_until(lambda: health(api_port), 15, what="API up")
        callee = tcp_phone(phone_factory, "102", sip_port)
        caller = tcp_phone(phone_factory, "101", sip_port)
        before = descriptors(server.pid)

        started = time.monotonic()
        socks = flood(sip_port)
        # everything was accepted by now or soon: the count settles at the cap
        time.sleep(1.0)
        held = descriptors(server.pid)
        assert held - before <= MAX_CONNECTIONS, (before, held)
        assert held - before >= MAX_CONNECTIONS - 10  # the cap was really reached
        assert time.monotonic() - started < 60
        took = time.monotonic() - started
        print(f"flood: {FLOOD} connections in {took:.1f}s; server fds {before} -> {held}")

        # /health and the HTTP API answer while SIP is at its cap
        for _ in range(20):
            response = httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=5)
            assert response.status_code == 200 and response.json()["status"] == "ok"

        # the registered phones' connections were there first: they still call
        caller.dial(f"sip:102@127.0.0.1:{sip_port}")
        callee.wait_incoming()
        callee.wait_call_established()
        caller.wait_call_established()
        time.sleep(0.5)
        caller.hangup()
        caller.wait_call_closed()
        callee.wait_call_closed()
        assert descriptors(server.pid) - before <= MAX_CONNECTIONS + 10
    finally:
        for sock in socks:
            sock.close()
        server.stop(20)  # SIGTERM, SIGKILL after 20 s
    text = log.read_text()
    assert "Traceback" not in text
    refusals = re.findall(r"SIP connection from (\S+) refused", text)
    # at most one line per source (the flood took well under the log interval)
    assert refusals and len(refusals) == len(set(refusals)) <= SOURCES
    assert f"refused: {PER_SOURCE} open from it" in text
    assert f"refused: {MAX_CONNECTIONS} open in all" in text
    assert "out of system resource" not in text  # accept() never hit the descriptor limit


def test_a_registered_tcp_phone_keeps_its_connection_past_the_idle_timeout(
    switch_factory, phone_factory
) -> None:
    harness = switch_factory(
        sip={"nat_keepalive": 0},  # no pings: nothing keeps the flow busy
        sip_connections={"idle_timeout": 2, "message_timeout": 1},
    )
    switch = harness.switch
    transport = switch.ua.transport
    sip_port = harness.call(lambda: transport.port)
    phone = tcp_phone(phone_factory, "101", sip_port)
    caller = tcp_phone(phone_factory, "102", sip_port)
    (binding,) = harness.call(lambda: switch.registrar.contacts("101"))
    flow = (binding.transport, binding.source_host, binding.source_port)

    # a client that sent one message and then nothing is closed at the idle timeout
    with socket.create_connection(("127.0.0.1", sip_port), timeout=5) as other:
        other.sendall(
            b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKi\r\n"
            b"From: <sip:i@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: idle\r\n"
            b"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        closed_at = None
        with contextlib.suppress(ConnectionResetError):
            while other.recv(4096):  # the answer, then EOF when the switch closes it
                pass
        closed_at = time.monotonic()
    assert closed_at is not None
    time.sleep(3)  # the phones' connections are now well past the idle timeout too
    assert harness.call(lambda: transport.guard.timed_out) >= 1
    keys = harness.call(lambda: {(p.transport, p.host, p.port) for p in transport._connections})
    assert flow in keys
    (again,) = harness.call(lambda: switch.registrar.contacts("101"))
    assert (again.source_host, again.source_port) == flow[1:]  # no new connection

    caller.dial(f"sip:101@127.0.0.1:{sip_port}")
    phone.wait_incoming()
    phone.wait_call_established()
    caller.wait_call_established()
    caller.hangup()
    caller.wait_call_closed()
    phone.wait_call_closed()
