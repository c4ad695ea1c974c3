"""RFC 4475 torture messages sent to a running switch over UDP and TCP."""

from __future__ import annotations

import re
import socket
import time

import pytest

from tests.sip.rfc4475 import CASES, Case

# The corpus' Via sent-by hosts are names under .invalid or 127.0.0.0/8 literals with
# no port (or 5060): the switch answers on port 5060 of the address a request came
# from, so the client sends from there.
CLIENT_HOSTS = [f"127.0.0.{n}" for n in range(2, 10)]


def _client(kind: int) -> socket.socket:
    for host in CLIENT_HOSTS:
        sock = socket.socket(socket.AF_INET, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, 5060))
        except OSError:
            sock.close()
            continue
        return sock
    pytest.skip("port 5060 is taken on every client address")


_CALL_ID_RE = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


def _statuses(chunks: bytes, call_id: bytes) -> list[int]:
    """Status codes of the responses in ``chunks`` that belong to ``call_id``: the
    client address is shared by every case, so retransmissions of an earlier case's
    answers may still arrive."""
    found: list[int] = []
    for head in chunks.split(b"\r\n\r\n"):
        start = head.find(b"SIP/2.0 ")
        if start < 0:
            continue
        ids = _CALL_ID_RE.findall(head)
        if ids and ids[0] == call_id:
            found.append(int(head[start:].split()[1]))
    return found


def exchange_udp(switch: tuple[str, int], data: bytes, wait: float) -> list[int]:
    call_id = _call_id(data)
    sock = _client(socket.SOCK_DGRAM)
    with sock:
        sock.sendto(data, switch)
        got: list[int] = []
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not any(s >= 200 for s in got):
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                got += _statuses(sock.recv(65536), call_id)
            except TimeoutError:
                break
        return got


def exchange_tcp(switch: tuple[str, int], data: bytes, wait: float) -> list[int]:
    call_id = _call_id(data)
    sock = _client(socket.SOCK_STREAM)
    with sock:
        sock.connect(switch)
        sock.sendall(data)
        buf = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not any(s >= 200 for s in _statuses(buf, call_id)):
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            buf += chunk
        return _statuses(buf, call_id)


def _call_id(data: bytes) -> bytes:
    return _CALL_ID_RE.findall(data.split(b"\r\n\r\n")[0])[0]


@pytest.fixture(scope="module")
def switch_address(request, tmp_path_factory, peer_ports, rtp_ports):
    from tests.conftest import switch_config  # noqa: PLC0415
    from tests.switch_harness import SwitchHarness  # noqa: PLC0415

    harness = SwitchHarness(
        switch_config(tmp_path_factory.mktemp("switch"), peer_ports.port(), rtp_ports.block(100))
    )
    harness.start()
    yield harness.config.sip_host_port
    harness.stop()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_switch_answers_as_rfc_4475_says(case: Case, switch_address) -> None:
    transport = case.transport
    exchange = exchange_tcp if transport == "TCP" else exchange_udp
    wait = 1.0 if case.answer is None else 5.0
    got = exchange(switch_address, case.data, wait)
    finals = [s for s in got if s >= 200]
    if case.answer is None:
        assert got == [], f"{case.name}: a response is not answered, got {got}"
    else:
        assert finals, f"{case.name} ({case.section}): no answer over {transport}"
        assert finals[0] == case.answer, f"{case.name}: {finals[0]} != {case.answer}"
