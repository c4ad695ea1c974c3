"""Caps and idle timeouts of accepted SIP TCP/TLS connections, over real sockets.

Sources other than 127.0.0.1 are other loopback addresses (127.0.0.2, ...), which
Linux routes to the listener on 127.0.0.1 like any other address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import ssl
from collections.abc import AsyncIterator

import pytest

from softswitch.sip.connection_limits import (
    LOG_INTERVAL,
    ConnectionGuard,
    ConnectionLimits,
    descriptor_budget,
)
from softswitch.sip.message import Request, Response
from softswitch.sip.transport import Peer, Transport
from softswitch.tlsidentity import ensure_identity
from tests.sip.raw import request_text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_guard_counts_per_source_and_in_all() -> None:
    guard = ConnectionGuard(ConnectionLimits(max_connections=3, max_per_source=2))
    assert guard.admit("a") and guard.admit("a")
    assert not guard.admit("a")  # per source
    assert guard.admit("b")
    assert not guard.admit("c")  # in all
    assert (guard.total, guard.refused) == (3, 2)
    guard.release("a")
    assert guard.admit("c")
    guard.release("b")
    assert "b" not in guard.open  # no entry kept for a source with nothing open


def test_refusals_are_logged_once_per_source_per_interval(caplog) -> None:
    clock = Clock()
    guard = ConnectionGuard(ConnectionLimits(max_per_source=1), clock=clock)
    guard.admit("198.18.0.1")
    with caplog.at_level(logging.WARNING, "softswitch.sip.transport"):
        for _ in range(50):
            assert not guard.admit("198.18.0.1")
        assert guard.admit("198.18.0.2")  # another source: its own count
        clock.now += LOG_INTERVAL
        assert not guard.admit("198.18.0.1")
    lines = [r.getMessage() for r in caplog.records if "198.18.0.1" in r.getMessage()]
    assert len(lines) == 2
    assert "1 open from it" in lines[0]
    assert "49 more refused since the last line" in lines[1]


def test_the_cap_leaves_half_the_descriptors_to_others() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert descriptor_budget(10) == 10
    assert descriptor_budget(10**9) == soft // 2


@pytest.mark.parametrize(
    "kwargs",
    [{"max_connections": 0}, {"max_per_source": 0}, {"message_timeout": 0}, {"idle_timeout": -1}],
)
def test_nonsense_limits_are_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        ConnectionLimits(**kwargs)


# -- through a real transport -----------------------------------------------------


class Listener:
    def __init__(self, limits: ConnectionLimits) -> None:
        self.received: list[tuple[Request | Response, Peer]] = []
        self.transport = Transport("127.0.0.1", 0, self.on_message, limits=limits)
        self.kept: set[tuple[str, str, int]] = set()  # what the owner says is in use
        self.transport.in_use = lambda keys: self.kept.intersection(keys)

    def on_message(self, message: Request | Response, peer: Peer) -> None:
        self.received.append((message, peer))


@pytest.fixture
async def make_listener() -> AsyncIterator:
    started: list[Listener] = []

    async def make(**kwargs) -> Listener:
        node = Listener(ConnectionLimits(**kwargs))
        await node.transport.start()
        started.append(node)
        return node

    yield make
    for node in started:
        await node.transport.stop()


async def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.bind((source, 0))
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return sock


async def closed_by_peer(sock: socket.socket, timeout: float = 3.0) -> bool:
    """True when the other side closes (EOF or reset) within ``timeout``."""
    loop = asyncio.get_running_loop()
    try:
        data = await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout)
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return data == b""


async def settle(transport: Transport, total: int, timeout: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while transport.inbound_connections != total:
        assert loop.time() < deadline, f"{transport.inbound_connections} open, not {total}"
        await asyncio.sleep(0.01)


async def test_connections_over_the_caps_are_closed_at_once(make_listener) -> None:
    listener = await make_listener(max_connections=6, max_per_source=4)
    port = listener.transport.port
    socks = []
    try:
        for _ in range(5):
            socks.append(await connect(port, "127.0.0.2"))
        await settle(listener.transport, 4)
        assert await closed_by_peer(socks[-1])  # the fifth from 127.0.0.2
        for _ in range(3):
            socks.append(await connect(port, "127.0.0.3"))
        await settle(listener.transport, 6)
        assert await closed_by_peer(socks[-1], 1)  # the seventh in all
        assert not await closed_by_peer(socks[0], 0.2)  # the admitted ones stay
        assert listener.transport.guard.refused == 2

        # a closed one makes room: the next connection is served
        socks[0].close()
        await settle(listener.transport, 5)
        sock = await connect(port, "127.0.0.4")
        socks.append(sock)
        local = sock.getsockname()[1]
        await asyncio.get_running_loop().sock_sendall(
            sock, request_text("OPTIONS", port, local, transport="TCP")
        )
        for _ in range(100):
            if listener.received:
                break
            await asyncio.sleep(0.02)
        assert listener.received[0][1] == Peer("TCP", "127.0.0.4", local)
    finally:
        for sock in socks:
            sock.close()
    await settle(listener.transport, 0)


async def test_a_connection_owing_a_message_is_closed_after_the_timeout(make_listener) -> None:
    listener = await make_listener(message_timeout=0.6, idle_timeout=60)
    port = listener.transport.port
    loop = asyncio.get_running_loop()
    silent = await connect(port)
    half = await connect(port)
    talker = await connect(port)
    try:
        text = request_text("OPTIONS", port, talker.getsockname()[1], transport="TCP")
        await loop.sock_sendall(half, text[:40])  # a message begun, never finished
        await loop.sock_sendall(talker, text)  # a whole message: nothing owed
        await asyncio.sleep(0.3)
        await loop.sock_sendall(talker, text[:40])  # the next one begins late ...
        assert await closed_by_peer(silent, 3)
        assert await closed_by_peer(half, 1)
        await loop.sock_sendall(talker, text[40:])  # ... and is finished in time
        assert not await closed_by_peer(talker, 0.5)
        await loop.sock_sendall(talker, text[:40])  # one begun and never finished
        assert await closed_by_peer(talker, 3)
        assert listener.transport.guard.timed_out == 3
    finally:
        for sock in (silent, half, talker):
            sock.close()


async def test_a_silent_connection_is_closed_unless_it_is_in_use(make_listener) -> None:
    listener = await make_listener(message_timeout=60, idle_timeout=0.8)
    port = listener.transport.port
    loop = asyncio.get_running_loop()
    idle, flow, pinging = [await connect(port) for _ in range(3)]
    try:
        for sock in (idle, flow, pinging):
            text = request_text("REGISTER", port, sock.getsockname()[1], transport="TCP")
            await loop.sock_sendall(sock, text)
        listener.kept.add(("TCP", "127.0.0.1", flow.getsockname()[1]))  # a registration's
        for _ in range(8):  # a pong now and then is traffic enough
            await loop.sock_sendall(pinging, b"\r\n")
            await asyncio.sleep(0.25)
        assert await closed_by_peer(idle, 0.1) or await closed_by_peer(idle, 2)
        assert not await closed_by_peer(flow, 0.1)
        assert not await closed_by_peer(pinging, 0.1)
        assert listener.transport.inbound_connections == 2
    finally:
        for sock in (idle, flow, pinging):
            sock.close()


async def test_tls_connections_count_from_their_handshake_and_owe_a_message(
    tmp_path,
) -> None:
    identity = ensure_identity(tmp_path / "cert.pem", tmp_path / "key.pem", "127.0.0.1")
    transport = Transport(
        "127.0.0.1",
        0,
        lambda message, peer: None,
        identity.server_context(),
        limits=ConnectionLimits(max_per_source=2, message_timeout=0.8),
    )
    await transport.start()
    socks = []
    try:
        # two connections that never say hello hold the source's share ...
        for _ in range(3):
            socks.append(await connect(transport.tls_port, "127.0.0.5"))
        assert await closed_by_peer(socks[-1], 1)  # ... so the third is refused at once
        await settle(transport, 2)
        for sock in socks:
            sock.close()
        await settle(transport, 0)

        # a client through the handshake that then sends nothing is closed in time too
        client = ssl.create_default_context(cafile=str(identity.certificate))
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", transport.tls_port, ssl=client, server_hostname="127.0.0.1"
        )
        await settle(transport, 1)
        assert await asyncio.wait_for(reader.read(), 3) == b""
        writer.close()
        await settle(transport, 0)
        assert transport.guard.timed_out == 1
    finally:
        for sock in socks:
            sock.close()
        await transport.stop()


async def test_a_client_that_does_not_read_its_answers_is_no_longer_read(make_listener) -> None:
    listener = await make_listener()
    transport = listener.transport
    answered = 0

    def respond(message: Request | Response, peer: Peer) -> None:
        nonlocal answered
        answered += 1
        transport.send(b"x" * 2000, peer)  # a fat answer to every request

    transport.on_message = respond
    port = transport.port
    sock = await connect(port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and it reads none
    request = request_text("OPTIONS", port, sock.getsockname()[1], transport="TCP")
    loop = asyncio.get_running_loop()
    await settle(transport, 1)
    (conn,) = transport._inbound
    assert conn.transport is not None
    try:
        # 10,000 requests: 20 MB of answers, were they all read
        sent = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):
                while sent < 10_000:
                    await loop.sock_sendall(sock, request * 50)
                    sent += 50
                    await asyncio.sleep(0)  # the listener reads as it pleases
        buffered = conn.transport.get_write_buffer_size()
        # reading stopped past the high-water mark: the rest of the requests wait in the
        # kernels' buffers, and what waits in our memory is a read's worth of answers
        assert answered < 5000 and buffered < 4_000_000, (sent, answered, buffered)
    finally:
        sock.close()
