"""UDP and TCP on one port, over real sockets on 127.0.0.1 (RFC 3261 18, RFC 3581).

TCP bytes arrive split and coalesced as a peer's kernel pleases: the framer must cut
the same messages either way, and a stream that loses its framing is closed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from collections.abc import AsyncIterator

import pytest

from softswitch.sip import transport as transport_module
from softswitch.sip.errors import SipError
from softswitch.sip.message import Request, Response
from softswitch.sip.parser import parse_message
from softswitch.sip.transport import MAX_UDP_SIZE, Peer, TlsClient, Transport
from softswitch.tlsidentity import TlsIdentity, ensure_identity
from tests.sip.no_ipv6 import without_ipv6
from tests.sip.raw import RawUdp, request_text

Received = list[tuple[Request | Response, Peer]]


class Listener:
    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.received: Received = []
        self.transport = Transport("127.0.0.1", 0, self.on_message, tls_context)

    def on_message(self, message: Request | Response, peer: Peer) -> None:
        self.received.append((message, peer))


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    node = Listener()
    await node.transport.start()
    yield node
    await node.transport.stop()


async def eventually_count(received: Received, count: int, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while len(received) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{len(received)} of {count}"
        await asyncio.sleep(0.01)


async def test_udp_request_is_stamped_with_where_it_came_from(listener: Listener) -> None:
    with await RawUdp.open() as raw:
        port = listener.transport.port
        data = request_text("OPTIONS", port, raw.port).replace(
            f"127.0.0.1:{raw.port};branch".encode(), b"192.0.2.1:5060;branch"
        )
        raw.send(data, port)
        raw.send(b"\r\n\r\n", port)  # keep-alive: nothing to deliver
        await eventually_count(listener.received, 1)
        await asyncio.sleep(0.05)
        assert len(listener.received) == 1
        message, peer = listener.received[0]
        assert peer == Peer("UDP", "127.0.0.1", raw.port)
        assert str(peer) == f"udp:127.0.0.1:{raw.port}"
        via = message.top_via
        # RFC 3261 18.2.1 received=, RFC 3581 rport= filled in
        assert via.params["received"] == "127.0.0.1"
        assert via.params["rport"] == str(raw.port)
        # the response goes back to the source address, not to the Via's
        assert isinstance(message, Request)
        listener.transport.send_response(message.make_response(200, to_tag="x"), peer)
        response = await raw.next()
        assert isinstance(response, Response) and response.status == 200


@pytest.mark.parametrize(
    "via",
    [
        "SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK1;rport",  # NAT: received and rport
        "SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK1",  # another host: received
        "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1",  # where it came from: untouched
        "SIP/2.0/UDP 127.0.0.1:5062;rport;branch=z9hG4bK1",
        "SIP/2.0/TCP [2001:db8::9];branch=z9hG4bK1;received=192.0.2.1",
        "SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1, SIP/2.0/UDP 192.0.2.8;branch=z9hG4bK2",
    ],
)
def test_the_parsed_via_is_stamped_as_the_header_text_is(via: str) -> None:
    """Stamping from the parser's view keeps the other views and writes the same Via."""
    peer = Peer("UDP", "127.0.0.1", 40000)
    text = request_text("OPTIONS", 5060, 5070).replace(
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKraw1;rport", f"Via: {via}".encode()
    )
    assert via.encode() in text
    slow, fast = parse_message(text), parse_message(text)
    assert isinstance(slow, Request) and isinstance(fast, Request)
    sender = fast.from_addr
    Transport._stamp_via(slow, peer)
    Transport._stamp_parsed_via(fast, peer)
    assert fast.headers.get_all("Via") == slow.headers.get_all("Via")
    assert str(fast.top_via) == str(slow.top_via) and fast.vias == slow.vias
    assert fast.from_addr is sender or "," in via  # not parsed a second time


async def test_the_udp_socket_gets_a_receive_buffer_for_bursts(listener: Listener) -> None:
    """Datagrams arriving while the loop is busy wait in the socket's buffer: it is raised
    from the kernel's default as far as net.core.rmem_max lets it."""
    udp = listener.transport._udp
    assert udp is not None
    sock = udp.get_extra_info("socket")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain:
        default = plain.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        plain.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, transport_module.UDP_RECEIVE_BUFFER)
        allowed = plain.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    got = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    assert got == allowed and got >= default


async def test_malformed_udp_answered_400_garbage_dropped_listener_survives(
    listener: Listener,
) -> None:
    with await RawUdp.open() as raw:
        port = listener.transport.port
        raw.send(b"\x00\x01 not sip\r\n\r\n", port)
        bad = request_text("OPTIONS", port, raw.port).replace(
            b"Max-Forwards: 70", b"Max-Forwards: x"
        )
        raw.send(bad, port)
        response = await raw.next()
        assert isinstance(response, Response)
        assert (response.status, response.reason) == (400, "bad Max-Forwards 'x'")
        assert listener.received == []

        def broken(message: Request | Response, peer: Peer) -> None:
            raise RuntimeError("a bug in the handler")

        listener.transport.on_message = broken
        raw.send(request_text("OPTIONS", port, raw.port), port)
        await asyncio.sleep(0.05)
        listener.transport.on_message = listener.on_message
        raw.send(request_text("OPTIONS", port, raw.port, branch="z9hG4bKnext"), port)
        await eventually_count(listener.received, 1)


async def test_tcp_split_and_coalesced_reads(listener: Listener) -> None:
    port = listener.transport.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        local_port = writer.get_extra_info("sockname")[1]
        body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
        one = request_text(
            "INVITE", port, local_port, transport="TCP", branch="z9hG4bK1", body=body
        )
        two = request_text("OPTIONS", port, local_port, transport="TCP", branch="z9hG4bK2")
        three = request_text("OPTIONS", port, local_port, transport="TCP", branch="z9hG4bK3")
        # one message in three writes: inside a header name, inside the body
        for chunk in (one[:30], one[30:-10], one[-10:]):
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(0.02)
        await eventually_count(listener.received, 1)
        # two messages and a keep-alive in one write
        writer.write(two + b"\r\n\r\n" + three)
        await writer.drain()
        await eventually_count(listener.received, 3)
        messages = [m for m, _ in listener.received]
        assert [m.top_via.branch for m in messages] == ["z9hG4bK1", "z9hG4bK2", "z9hG4bK3"]
        assert messages[0].body == body
        peers = {p for _, p in listener.received}
        assert peers == {Peer("TCP", "127.0.0.1", local_port)}

        # the response goes back on the same connection
        first = messages[0]
        assert isinstance(first, Request)
        listener.transport.send_response(first.make_response(180, to_tag="t"), peers.pop())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        response = parse_message(head)
        assert isinstance(response, Response) and response.status == 180
        assert response.top_via.branch == "z9hG4bK1"
    finally:
        writer.close()


async def test_tcp_stream_without_content_length_is_answered_and_closed(
    listener: Listener,
) -> None:
    port = listener.transport.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        local_port = writer.get_extra_info("sockname")[1]
        data = request_text("OPTIONS", port, local_port, transport="TCP")
        writer.write(data.replace(b"Content-Length: 0\r\n", b""))
        await writer.drain()
        # the peer learns why, then EOF: the framing is lost
        answer = await asyncio.wait_for(reader.read(), 2)
        assert answer.startswith(b"SIP/2.0 400 missing Content-Length on a stream transport\r\n")
        assert listener.received == []
        with pytest.raises(SipError):
            listener.transport.send(b"x", Peer("TCP", "127.0.0.1", local_port))
    finally:
        writer.close()


async def test_two_transports_over_tcp(listener: Listener) -> None:
    other = Listener()
    await other.transport.start()
    try:
        to_listener = Peer("TCP", "127.0.0.1", listener.transport.port)
        with pytest.raises(SipError, match="no TCP connection"):
            other.transport.send(b"x", to_listener)
        assert await other.transport.connect(to_listener) == to_listener
        data = request_text(
            "OPTIONS", listener.transport.port, other.transport.port, transport="TCP"
        )
        other.transport.send(data, to_listener)
        await eventually_count(listener.received, 1)
        request, peer = listener.received[0]
        assert isinstance(request, Request) and peer.transport == "TCP"
        # answered on the connection it came in on, whatever the Via says
        listener.transport.send_response(request.make_response(200, to_tag="t"), peer)
        await eventually_count(other.received, 1)
        response, back = other.received[0]
        assert isinstance(response, Response) and response.status == 200
        assert back == to_listener
        # UDP needs no connection: connect() is a no-op
        udp = Peer("UDP", "127.0.0.1", listener.transport.port)
        assert await other.transport.connect(udp) == udp
    finally:
        await other.transport.stop()


async def test_udp_size_limit_and_unstarted_transport() -> None:
    node = Listener()
    with pytest.raises(SipError, match="not started"):
        node.transport.send(b"x", Peer("UDP", "127.0.0.1", 9))
    await node.transport.start()
    try:
        with pytest.raises(SipError, match="too large"):
            node.transport.send(b"x" * (MAX_UDP_SIZE + 1), Peer("UDP", "127.0.0.1", 9))
    finally:
        await node.transport.stop()


def response_via(via: str) -> Response:
    message = parse_message(
        (
            f"SIP/2.0 200 OK\r\nVia: {via}\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\n"
            "Call-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()
    )
    assert isinstance(message, Response)
    return message


@pytest.mark.parametrize(
    ("via", "destination"),
    [
        ("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx", Peer("UDP", "192.0.2.1", 5060)),
        ("SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKx", Peer("UDP", "192.0.2.1", 5070)),
        (
            "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKx;received=198.51.100.9",
            Peer("UDP", "198.51.100.9", 5070),
        ),
        (
            "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKx;received=198.51.100.9;rport=40000",
            Peer("UDP", "198.51.100.9", 40000),
        ),
        ("SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKx", Peer("TCP", "192.0.2.1", 5060)),
        ("SIP/2.0/TLS 192.0.2.1;branch=z9hG4bKx", Peer("TLS", "192.0.2.1", 5061)),
        (
            "SIP/2.0/TLS 192.0.2.1:5063;branch=z9hG4bKx;received=198.51.100.9",
            Peer("TLS", "198.51.100.9", 5063),
        ),
        # an IPv6 Via host loses its brackets: the socket wants the bare address
        ("SIP/2.0/UDP [::1]:5070;branch=z9hG4bKx", Peer("UDP", "::1", 5070)),
        ("SIP/2.0/TCP [::1];branch=z9hG4bKx", Peer("TCP", "::1", 5060)),
    ],
)
def test_response_destination_rfc3261_18_2_2(via: str, destination: Peer) -> None:
    transport = Transport("127.0.0.1", 0, lambda message, peer: None)
    assert transport.response_destination(response_via(via), None) == destination


# -- TLS ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> TlsIdentity:
    folder = tmp_path_factory.mktemp("tls")
    return ensure_identity(folder / "cert.pem", folder / "key.pem", "127.0.0.1")


@pytest.fixture
async def tls_listener(identity: TlsIdentity) -> AsyncIterator[Listener]:
    node = Listener(identity.server_context())
    node.transport.tls_handshake_timeout = 0.5
    await node.transport.start()
    yield node
    await node.transport.stop()
    assert node.transport._handshaking == set()  # no task left behind


def trusting(identity: TlsIdentity) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(identity.certificate))


async def test_tls_request_in_response_back_on_the_same_connection(
    tls_listener: Listener, identity: TlsIdentity
) -> None:
    transport = tls_listener.transport
    assert transport.tls_port not in (0, transport.port)
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", transport.tls_port, ssl=trusting(identity), server_hostname="127.0.0.1"
    )
    try:
        local_port = writer.get_extra_info("sockname")[1]
        one = request_text("REGISTER", transport.tls_port, local_port, transport="TLS")
        writer.write(one[:40])  # split inside TLS records too
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(one[40:] + b"\r\n\r\n")
        await writer.drain()
        await eventually_count(tls_listener.received, 1)
        request, peer = tls_listener.received[0]
        assert isinstance(request, Request) and peer == Peer("TLS", "127.0.0.1", local_port)
        transport.send_response(request.make_response(200, to_tag="t"), peer)
        response = parse_message(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2))
        assert isinstance(response, Response) and response.status == 200
        # a request to that phone later goes over its connection, not a new one
        transport.send(request_text("OPTIONS", local_port, transport.tls_port), peer)
        again = parse_message(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2))
        assert isinstance(again, Request) and again.method == "OPTIONS"
    finally:
        writer.close()
    # the same port number over TCP is another peer
    with pytest.raises(SipError, match="no TCP connection"):
        transport.send(b"x", Peer("TCP", "127.0.0.1", local_port))


async def test_plain_text_and_failed_handshakes_are_closed_and_logged_once(
    tls_listener: Listener, identity: TlsIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    transport = tls_listener.transport
    caplog.set_level(logging.INFO, "softswitch.sip.transport")
    # a SIP client speaking plain text to the TLS port
    reader, writer = await asyncio.open_connection("127.0.0.1", transport.tls_port)
    writer.write(request_text("OPTIONS", transport.tls_port, 5999, transport="TCP"))
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 2) in (b"", b"\x15\x03\x03\x00\x02\x02\x16")
    writer.close()
    # a client that does not trust our certificate (verification fails on its side)
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection(
            "127.0.0.1", transport.tls_port, ssl=ssl.create_default_context()
        )
    # a client that connects and never says hello: cut at the handshake timeout
    _, silent = await asyncio.open_connection("127.0.0.1", transport.tls_port)
    deadline = asyncio.get_running_loop().time() + 3
    while transport.failed_handshakes < 3:
        assert asyncio.get_running_loop().time() < deadline, transport.failed_handshakes
        await asyncio.sleep(0.02)
    silent.close()
    failures = [r for r in caplog.records if "TLS handshake" in r.getMessage()]
    assert len(failures) == 3 and all(r.exc_info is None for r in failures)
    assert tls_listener.received == []
    # the listener still serves a good client
    _, writer = await asyncio.open_connection(
        "127.0.0.1", transport.tls_port, ssl=trusting(identity), server_hostname="127.0.0.1"
    )
    writer.write(request_text("OPTIONS", transport.tls_port, 5999, transport="TLS"))
    await writer.drain()
    await eventually_count(tls_listener.received, 1)
    writer.close()


async def test_stop_closes_a_handshake_in_progress(identity: TlsIdentity) -> None:
    node = Listener(identity.server_context())
    await node.transport.start()
    _, silent = await asyncio.open_connection("127.0.0.1", node.transport.tls_port)
    await asyncio.sleep(0.05)
    assert len(node.transport._handshaking) == 1
    await node.transport.stop()
    assert node.transport._handshaking == set()
    silent.close()


async def test_outgoing_tls_verifies_the_server(
    tls_listener: Listener, identity: TlsIdentity
) -> None:
    server = Peer("TLS", "127.0.0.1", tls_listener.transport.tls_port)
    client = Listener()
    await client.transport.start()
    try:
        # by default the system's CAs: our self-signed certificate does not verify
        with pytest.raises(SipError, match="certificate verify failed"):
            await client.transport.connect(server)
        # the wrong name with the right CA fails too
        client.transport.tls_clients[(server.host, server.port)] = TlsClient(
            trusting(identity), "carrier.example"
        )
        with pytest.raises(SipError, match="certificate verify failed"):
            await client.transport.connect(server)
        client.transport.tls_clients[(server.host, server.port)] = TlsClient(
            trusting(identity), "127.0.0.1"
        )
        assert await client.transport.connect(server) == server
        data = request_text("OPTIONS", server.port, client.transport.port, transport="TLS")
        client.transport.send(data, server)
        await eventually_count(tls_listener.received, 1)
        request, peer = tls_listener.received[0]
        assert isinstance(request, Request) and peer.transport == "TLS"
        tls_listener.transport.send_response(request.make_response(200, to_tag="t"), peer)
        await eventually_count(client.received, 1)
        assert client.received[0][1] == server
    finally:
        await client.transport.stop()


def test_tls_on_uvloop_as_the_server_runs_it(identity: TlsIdentity) -> None:
    """uvloop starts reading a stream after connection_made (the reason TLS is driven
    over memory BIOs, not start_tls): a handshake, a request and a failure, on uvloop."""
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> None:
        node = Listener(identity.server_context())
        await node.transport.start()
        try:
            port = node.transport.tls_port
            _, plain = await asyncio.open_connection("127.0.0.1", port)
            plain.write(b"OPTIONS sip:x SIP/2.0\r\n\r\n")
            _, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=trusting(identity), server_hostname="127.0.0.1"
            )
            writer.write(request_text("OPTIONS", port, 5999, transport="TLS"))
            await eventually_count(node.received, 1)
            while node.transport.failed_handshakes != 1:
                await asyncio.sleep(0.01)
            writer.close()
            plain.close()
        finally:
            await node.transport.stop()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(asyncio.wait_for(scenario(), 5))


# -- dual stack: one socket per family on a wildcard listen -------------------------


async def test_wildcard_listens_on_both_families_and_answers_ipv6_over_ipv6() -> None:
    node = Listener()
    node.transport = Transport("0.0.0.0", 0, node.on_message)
    await node.transport.start()
    raw = await RawUdp.open("::1")
    try:
        assert node.transport.families == ("IPv4", "IPv6")
        port = node.transport.port
        raw.send(request_text("OPTIONS", port, raw.port, host="::1"), port)
        await eventually_count(node.received, 1)
        request, peer = node.received[0]
        assert peer == Peer("UDP", "::1", raw.port)  # plain, not v4-mapped
        assert isinstance(request, Request)
        # received names the address as such, without the Via's brackets
        assert request.top_via.params["received"] == "::1"
        assert request.top_via.params["rport"] == str(raw.port)
        node.transport.send_response(request.make_response(200, to_tag="t"))
        response = await raw.next()
        assert isinstance(response, Response) and response.status == 200
        # TCP on the same port over IPv6 too
        reader, writer = await asyncio.open_connection("::1", port)
        writer.write(request_text("OPTIONS", port, 5062, transport="TCP", host="::1"))
        await eventually_count(node.received, 2)
        assert node.received[1][1].transport == "TCP" and node.received[1][1].host == "::1"
        writer.close()
    finally:
        raw.close()
        await node.transport.stop()


async def test_ipv6_sockets_accept_ipv6_only() -> None:
    node = Listener()
    node.transport = Transport("::", 0, node.on_message)
    await node.transport.start()
    try:
        assert node.transport.families == ("IPv4", "IPv6")
        udp6 = node.transport._udp6
        assert udp6 is not None
        sock = udp6.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        # an IPv4 peer reaches the IPv4 socket and is seen with its plain address
        raw = await RawUdp.open()
        raw.send(request_text("OPTIONS", node.transport.port, raw.port), node.transport.port)
        await eventually_count(node.received, 1)
        assert node.received[0][1] == Peer("UDP", "127.0.0.1", raw.port)
        raw.close()
    finally:
        await node.transport.stop()


async def test_specific_ipv6_address_listens_on_ipv6_alone() -> None:
    node = Listener()
    node.transport = Transport("::1", 0, node.on_message)
    await node.transport.start()
    try:
        assert node.transport.families == ("IPv6",)
        with pytest.raises(SipError, match="no IPv4 UDP socket"):
            node.transport.send(b"x", Peer("UDP", "127.0.0.1", 9))
    finally:
        await node.transport.stop()


async def test_a_machine_without_ipv6_keeps_its_ipv4_listener(
    monkeypatch: pytest.MonkeyPatch, identity: TlsIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    without_ipv6(monkeypatch)
    node = Listener(identity.server_context())
    node.transport = Transport("0.0.0.0", 0, node.on_message, identity.server_context())
    caplog.set_level(logging.INFO, "softswitch.sip.transport")
    await node.transport.start()
    try:
        assert node.transport.families == ("IPv4",)
        assert node.transport.tls_port
        assert "no SIP listener on :: port" in caplog.text
        assert "no TLS listener on :: port" in caplog.text
        with pytest.raises(SipError, match="no IPv6 UDP socket"):
            node.transport.send(b"x", Peer("UDP", "::1", 9))
        raw = await RawUdp.open()
        raw.send(request_text("OPTIONS", node.transport.port, raw.port), node.transport.port)
        await eventually_count(node.received, 1)
        raw.close()
    finally:
        await node.transport.stop()


async def test_tls_wildcard_listens_on_ipv6_too(identity: TlsIdentity) -> None:
    node = Transport("0.0.0.0", 0, lambda m, p: None, identity.server_context(), "0.0.0.0", 0)
    await node.start()
    try:
        for host in ("127.0.0.1", "::1"):
            _, writer = await asyncio.open_connection(host, node.tls_port)
            writer.close()
    finally:
        await node.stop()


# --- RFC 5626 CRLF keepalives on TCP and TLS ---------------------------------------------------


async def _keepalives_both_ways(
    node: Listener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, kind: str
) -> None:
    """The phone's ping is answered with a pong; the switch's ping gets the phone's pong;
    neither is a message, and the stream's framing survives them; closing is reported."""
    transport = node.transport
    closed: list[Peer] = []
    transport.closed_listeners.append(closed.append)
    server_port = transport.tls_port if kind == "TLS" else transport.port
    local_port = writer.get_extra_info("sockname")[1]
    peer = Peer(kind, "127.0.0.1", local_port)
    one = request_text("OPTIONS", server_port, local_port, transport=kind, branch="z9hG4bKk1")
    writer.write(one)
    await writer.drain()
    await eventually_count(node.received, 1)
    # the phone pings: one CRLF comes back at once, and nothing reaches the parser
    writer.write(b"\r\n\r\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.readexactly(2), 2) == b"\r\n"
    assert transport.pongs_sent == 1
    # a lone CRLF (RFC 3261 7.5), then a ping and a message in one write
    writer.write(b"\r\n")
    await writer.drain()
    await asyncio.sleep(0.05)
    two = request_text("OPTIONS", server_port, local_port, transport=kind, branch="z9hG4bKk2")
    writer.write(b"\r\n\r\n" + two)
    await writer.drain()
    await eventually_count(node.received, 2)
    assert await asyncio.wait_for(reader.readexactly(2), 2) == b"\r\n"
    assert [m.top_via.branch for m, _ in node.received] == ["z9hG4bKk1", "z9hG4bKk2"]
    assert {p for _, p in node.received} == {peer}
    # the switch pings the phone on its connection; the phone's pong is counted
    before = transport.pongs(peer)
    assert before is not None
    transport.ping(peer)
    assert await asyncio.wait_for(reader.readexactly(4), 2) == b"\r\n\r\n"
    writer.write(b"\r\n")
    await writer.drain()
    deadline = asyncio.get_running_loop().time() + 2
    while transport.pongs(peer) == before:
        assert asyncio.get_running_loop().time() < deadline, "pong not counted"
        await asyncio.sleep(0.01)
    assert len(node.received) == 2 and transport.pongs_sent == 2
    # the phone goes away: the flow is reported closed, and a ping to it fails
    writer.close()
    deadline = asyncio.get_running_loop().time() + 2
    while not closed:
        assert asyncio.get_running_loop().time() < deadline, "close not reported"
        await asyncio.sleep(0.01)
    assert closed == [peer]
    assert transport.pongs(peer) is None
    with pytest.raises(SipError, match=f"no {kind} connection"):
        transport.ping(peer)


async def test_crlf_keepalives_over_tcp(listener: Listener) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.transport.port)
    try:
        await _keepalives_both_ways(listener, reader, writer, "TCP")
    finally:
        writer.close()


async def test_crlf_keepalives_over_tls(tls_listener: Listener, identity: TlsIdentity) -> None:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1",
        tls_listener.transport.tls_port,
        ssl=trusting(identity),
        server_hostname="127.0.0.1",
    )
    try:
        await _keepalives_both_ways(tls_listener, reader, writer, "TLS")
    finally:
        writer.close()


async def test_a_ping_on_udp_is_not_a_message(listener: Listener) -> None:
    with await RawUdp.open() as raw:
        port = listener.transport.port
        raw.send(b"\r\n\r\n", port)
        raw.send(request_text("OPTIONS", port, raw.port), port)
        await eventually_count(listener.received, 1)
        assert raw.drain() == []  # no pong over UDP (RFC 5626 uses STUN there)
        assert listener.transport.pongs_sent == 0


async def test_a_burst_of_pings_is_answered_and_the_stream_goes_on(listener: Listener) -> None:
    port = listener.transport.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        local_port = writer.get_extra_info("sockname")[1]
        pings = 16_384  # 64 KiB of keepalives, more than one read
        writer.write(b"\r\n\r\n" * pings)
        writer.write(request_text("OPTIONS", port, local_port, transport="TCP"))
        await writer.drain()
        await eventually_count(listener.received, 1, timeout=5)
        # one pong a ping; a ping the kernel cuts between two reads is two pongs to us
        answered = listener.transport.pongs_sent
        assert pings - 16 <= answered <= pings
        pongs = await asyncio.wait_for(reader.readexactly(2 * answered), 5)
        assert pongs == b"\r\n" * answered
        assert len(listener.received) == 1  # none of it was a message, framing intact
    finally:
        writer.close()


async def test_a_port_0_listener_picks_again_when_tcp_holds_the_udp_port(monkeypatch) -> None:
    """Port 0: the UDP port the kernel gives may be taken for TCP by someone else."""
    held: list[tuple[socket.socket | None, int]] = []  # the TCP blocker, the port
    real_bind = transport_module.bound_socket
    calls = {"udp": 0}

    def bind_with_a_clash(kind: int, host: str, port: int) -> socket.socket:
        sock = real_bind(kind, host, port)
        if kind == socket.SOCK_DGRAM:
            calls["udp"] += 1
            if calls["udp"] == 1:  # someone holds TCP on the first port given
                blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    blocker.bind((host, sock.getsockname()[1]))
                except OSError:  # another process already does: the same clash
                    blocker.close()
                    blocker = None
                held.append((blocker, sock.getsockname()[1]))
        return sock

    monkeypatch.setattr(transport_module, "bound_socket", bind_with_a_clash)
    transport = Transport("127.0.0.1", 0, lambda data, peer: None)
    try:
        await transport.start()
        assert calls["udp"] == 2 and transport.port != held[0][1]
    finally:
        await transport.stop()
        for sock, _ in held:
            if sock is not None:
                sock.close()


async def test_a_fixed_port_taken_for_tcp_fails_at_once() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        port = blocker.getsockname()[1]
        transport = Transport("127.0.0.1", port, lambda data, peer: None)
        with pytest.raises(OSError):
            await transport.start()
        await transport.stop()


async def test_a_port_0_wildcard_picks_again_when_the_other_family_holds_the_port(
    monkeypatch,
) -> None:
    """Port 0 on "::": the port IPv6 got may be taken for IPv4 by someone else; listening on
    one family only would leave IPv4 phones out."""
    real_bind = transport_module.bound_socket
    refused: list[int] = []

    def bind_with_a_clash(kind: int, host: str, port: int) -> socket.socket:
        if host == "0.0.0.0" and not refused:  # the first IPv4 bind: someone has the port
            refused.append(port)
            raise OSError(errno.EADDRINUSE, "Address already in use")
        return real_bind(kind, host, port)

    monkeypatch.setattr(transport_module, "bound_socket", bind_with_a_clash)
    transport = Transport("::", 0, lambda data, peer: None)
    try:
        await transport.start()
        assert transport.families == ("IPv4", "IPv6")
        assert refused and transport.port != refused[0]
    finally:
        await transport.stop()
