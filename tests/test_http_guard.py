"""The HTTP server against hostile clients, over real sockets (the whole process in a
ServerHarness): slowloris connections closed by the header deadline while /health keeps
answering, idle keep-alive connections closed, connection caps answered 503."""

from __future__ import annotations

import contextlib
import selectors
import socket
import time

import httpx

REQUEST_START = b"GET /health HTTP/1.1\r\nHost: switch\r\n"


def connect(harness, source: str = "127.0.0.1") -> socket.socket:
    host, port = harness.config.api_host_port
    return socket.create_connection((host, port), timeout=5, source_address=(source, 0))


def closed_by_server(sock: socket.socket, timeout: float) -> bytes | None:
    """What the server sent before closing, or None if it did not close in time."""
    sock.settimeout(timeout)
    got = b""
    try:
        while chunk := sock.recv(4096):
            got += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return got


def health(harness, source: str = "127.0.0.1") -> int:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=5) as c:
        return c.get(f"{harness.url}/health").status_code


def test_slowloris_connections_are_closed_by_the_header_deadline(server_factory) -> None:
    harness = server_factory(api_limits={"header_timeout": 2})
    socks = [connect(harness) for _ in range(200)]
    try:
        selector = selectors.DefaultSelector()
        for sock in socks:
            sock.sendall(REQUEST_START)
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        started = time.monotonic()
        open_socks, answers, closed_after = set(socks), 0, 0.0
        # each trickles a header line every 0.5 s, for at most 8 s (the loop ends by itself)
        while open_socks and time.monotonic() - started < 8:
            for sock in list(open_socks):
                with contextlib.suppress(OSError):  # closed: the selector reports it
                    sock.send(b"X-Slow: 1\r\n")
            assert health(harness) == 200  # served all along, from the same address
            answers += 1
            for key, _ in selector.select(timeout=0.5):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(4096)
                except ConnectionResetError:
                    data = b""
                assert data == b"", data  # closed, never answered
                selector.unregister(sock)
                open_socks.discard(sock)
                closed_after = time.monotonic() - started
        assert not open_socks, f"{len(open_socks)} of 200 still open"
        assert 1.5 < closed_after < 6
        assert answers >= 3
    finally:
        for sock in socks:
            sock.close()


def test_keep_alive_connections_get_a_new_header_deadline_per_request(server_factory) -> None:
    harness = server_factory(api_limits={"header_timeout": 1, "keep_alive_timeout": 2})
    with httpx.Client(base_url=harness.url, timeout=5) as c:
        # one connection, busy for longer than one header deadline: never cut
        for _ in range(5):
            assert c.get("/health").status_code == 200
            time.sleep(0.4)
    sock = connect(harness)
    try:
        sock.sendall(REQUEST_START + b"\r\n")
        started = time.monotonic()
        got = closed_by_server(sock, 6)
        assert got is not None and got.startswith(b"HTTP/1.1 200")
        # idle after its answer: closed by the deadline for the next request's headers
        assert 0.8 < time.monotonic() - started < 3
    finally:
        sock.close()


def test_connections_past_the_caps_are_answered_503(server_factory) -> None:
    harness = server_factory(api_limits={"max_connections": 8, "max_connections_per_source": 5})
    held = [connect(harness) for _ in range(5)]
    try:
        extra = connect(harness)
        got = closed_by_server(extra, 5)
        extra.close()
        assert got is not None and got.startswith(b"HTTP/1.1 503")
        assert b"too many connections" in got
        assert health(harness, "127.0.0.2") == 200  # another address is not capped
        held += [connect(harness, "127.0.0.2") for _ in range(3)]
        time.sleep(0.2)  # accepted by the server: 8 open in all
        third = connect(harness, "127.0.0.3")
        got = closed_by_server(third, 5)
        third.close()
        assert got is not None and got.startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 5  # the server sees the closes: room again
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if health(harness) == 200:
                break
        time.sleep(0.1)
    assert health(harness) == 200


def test_oversized_headers_are_refused_431_but_a_large_body_is_not(server_factory) -> None:
    harness = server_factory()
    sock = connect(harness)
    try:
        sock.sendall(REQUEST_START)
        with contextlib.suppress(OSError):  # the server may close while we still send
            for _ in range(20):  # 200 KB of headers, more than the 64 KiB allowed
                sock.sendall(b"X-Big: " + b"a" * 10_000 + b"\r\n")
        got = closed_by_server(sock, 5)
        assert got is not None and got.startswith(b"HTTP/1.1 431")
    finally:
        sock.close()
    body = b"x" * 300_000  # sent with the headers in one go: not counted as headers
    r = httpx.post(f"{harness.url}/health", content=body, timeout=5)
    assert r.status_code == 405
