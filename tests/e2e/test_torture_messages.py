"""RFC 4475 torture messages sent to a running switch over UDP and TCP."""

from __future__ import annotations

import re
import socket
import time

import pytest

from tests.sip.rfc4475 import CASES, Case
from tests.switch_harness import SwitchHarness, switch_config

# The corpus' Via sent-by hosts are names under .invalid or 127.0.0.0/8 literals with
# no port (or 5060): the switch answers on port 5060 of the address a request came
# from, so the client sends from there.
CLIENT_HOSTS = [f"127.0.0.{n}" for n in range(2, 10)]


def _udp_client() -> socket.socket:
    for host in CLIENT_HOSTS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
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
    sock = _udp_client()
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
    # over TCP the answer comes back on the connection: any local port will do (a fixed
    # one would meet its own TIME_WAIT from the previous case)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
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


def _switch(tmp_path_factory, peer_ports, rtp_ports):
    sip_port, rtp_first = peer_ports.port(), rtp_ports.block(100)
    harness = SwitchHarness(switch_config(tmp_path_factory.mktemp("switch"), sip_port, rtp_first))
    harness.start()
    try:
        yield harness.config.sip_host_port
    finally:
        harness.stop()
        peer_ports.release(sip_port)
        rtp_ports.release(rtp_first, 100)


@pytest.fixture(scope="module")
def switch_address(tmp_path_factory, peer_ports, rtp_ports):
    yield from _switch(tmp_path_factory, peer_ports, rtp_ports)


@pytest.fixture(scope="module")
def other_switch_address(tmp_path_factory, peer_ports, rtp_ports):
    """For sending the corpus again: the first switch would take each message for a
    retransmission of the same one (same branch) and answer where that came from."""
    yield from _switch(tmp_path_factory, peer_ports, rtp_ports)


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


# Over a stream the message ends where Content-Length says: clerr's (larger than the
# body) has the switch wait for more bytes, as it must (RFC 3261 18.3), and dblreq's
# trailing octets are the next message.
STREAM_CASES = [
    c for c in CASES if c.transport == "UDP" and c.answer and c.name not in ("clerr", "dblreq")
]


@pytest.mark.parametrize("case", STREAM_CASES, ids=lambda c: c.name)
def test_the_same_answers_over_tcp(case: Case, other_switch_address) -> None:
    # ncl: the framer gives up on the stream; the request is answered before the close
    finals = [s for s in exchange_tcp(other_switch_address, case.data, 5.0) if s >= 200]
    assert finals[:1] == [case.answer], case.name


def test_a_request_without_content_length_over_tcp_is_answered(switch_address) -> None:
    data = next(c for c in CASES if c.name == "mismatch01").data
    data = data.replace(b"l: 0\r\n", b"").replace(b"CSeq: 8 INVITE", b"CSeq: 8 OPTIONS")
    assert b"l: 0" not in data
    assert exchange_tcp(switch_address, data, 5.0) == [400]  # not a silent close
