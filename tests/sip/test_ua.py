"""The user-agent core between two real UserAgents on 127.0.0.1 (RFC 3261 8, 22).

Requests built as a peer reads them, digest challenges answered against the real
DigestServer (401 and 407, stale nonces, wrong passwords), what the core answers
on its own (OPTIONS, stray BYE, unknown dialogs), and timeouts to a silent peer.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from softswitch.sip.address import Address
from softswitch.sip.auth import DigestServer, ha1
from softswitch.sip.errors import SipError
from softswitch.sip.message import Request, Response
from softswitch.sip.options import ALLOWED
from softswitch.sip.transaction import ServerTransaction, TransactionState
from softswitch.sip.transport import Peer, TlsClient
from softswitch.sip.ua import Credentials, UserAgent
from softswitch.sip.uri import SipUri
from softswitch.tlsidentity import ensure_identity
from tests.sip.raw import RawUdp, request_text
from tests.sip.ua_pair import FAST, ua_and_raw

REALM = "sip.test"
PASSWORD = "s3cret"


class Registrar:
    """Bob's side: challenges every request with a DigestServer, then answers 200."""

    def __init__(self, status: int = 401, server: DigestServer | None = None) -> None:
        self.status = status
        self.server = server or DigestServer(REALM, b"k" * 32, algorithms=("SHA-256", "MD5"))
        self.seen: list[Request] = []
        self.results: list[tuple[bool, str | None, str]] = []

    def lookup(self, username: str, algorithm: str) -> str | None:
        return ha1(username, REALM, PASSWORD, algorithm) if username == "alice" else None

    def __call__(self, ua: UserAgent) -> Callable[[ServerTransaction], None]:
        def handle(st: ServerTransaction) -> None:
            request = st.request
            self.seen.append(request)
            header = "Authorization" if self.status == 401 else "Proxy-Authorization"
            value = request.headers.get(header)
            if value is not None:
                result = self.server.verify(
                    request.method, value, self.lookup, request_uri=request.uri
                )
                self.results.append((result.ok, result.username, result.reason))
                if result.ok:
                    st.respond(ua.response(request, 200, to_tag="reg"))
                    return
                stale = result.stale
            else:
                stale = False
            challenge = ua.response(request, self.status, to_tag="reg")
            name = "WWW-Authenticate" if self.status == 401 else "Proxy-Authenticate"
            for line in self.server.challenges(stale=stale):
                challenge.headers.add(name, line)
            st.respond(challenge)

        return handle


class Agents:
    def __init__(self) -> None:
        self.handled: list[ServerTransaction] = []
        self.alice = UserAgent(
            "127.0.0.1", 0, self.handled.append, timers=FAST, user_agent="alice/1"
        )
        self.bob = UserAgent("127.0.0.1", 0, self.handled.append, timers=FAST)

    def request(self, method: str, transport: str = "UDP") -> tuple[Request, Peer]:
        target = SipUri("sip", "bob", "127.0.0.1", self.bob.port)
        request = self.alice.new_request(
            method,
            target,
            Address(SipUri("sip", "alice", REALM)),
            Address(SipUri("sip", "alice", REALM)),
            transport=transport,
        )
        return request, Peer(transport, "127.0.0.1", self.bob.port)


@pytest.fixture
async def agents() -> AsyncIterator[Agents]:
    a = Agents()
    await a.alice.start()
    await a.bob.start()
    yield a
    await a.alice.stop()
    await a.bob.stop()


async def test_new_request_as_the_peer_reads_it(agents: Agents) -> None:
    request, peer = agents.request("INVITE")
    request.body = b"v=0\r\n"
    ct = await agents.alice.send(request, peer)
    await asyncio.sleep(0.1)
    seen = agents.handled[0].request
    via = seen.top_via
    assert via.branch is not None and via.branch.startswith("z9hG4bK")
    assert via.params["rport"] == str(agents.alice.port)  # RFC 3581, filled in by Bob
    assert seen.from_addr.tag and seen.to_addr.tag is None
    assert seen.cseq == (1, "INVITE")
    assert [str(c.uri) for c in seen.contacts] == [f"sip:127.0.0.1:{agents.alice.port}"]
    assert seen.headers.get("User-Agent") == "alice/1"
    assert seen.headers.get_all("Allow") == list(ALLOWED)
    assert seen.max_forwards == 70
    agents.handled[0].respond(agents.bob.response(seen, 486, to_tag="b"))
    assert (await asyncio.wait_for(ct.final, 2)).status == 486


@pytest.mark.parametrize("status", [401, 407])
async def test_digest_challenge_answered_with_the_real_server(status: int) -> None:
    registrar = Registrar(status)
    alice = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    bob = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    bob.on_request = registrar(bob)
    await alice.start()
    await bob.start()
    try:
        target = SipUri("sip", None, REALM)
        me = Address(SipUri("sip", "alice", REALM))
        request = alice.new_request("REGISTER", target, me, me)
        response = await alice.request(
            request, Peer("UDP", "127.0.0.1", bob.port), Credentials("alice", PASSWORD)
        )
        assert response.status == 200
        first, second = registrar.seen
        assert first.cseq[0] + 1 == second.cseq[0]  # a new request: next CSeq, new branch
        assert first.top_via.branch != second.top_via.branch
        assert first.call_id == second.call_id and first.from_addr.tag == second.from_addr.tag
        header = "Authorization" if status == 401 else "Proxy-Authorization"
        assert "algorithm=SHA-256" in (second.headers.get(header) or "")  # RFC 8760 preference
        assert registrar.results == [(True, "alice", "ok")]
    finally:
        await alice.stop()
        await bob.stop()


async def test_wrong_password_gets_the_second_challenge_back() -> None:
    registrar = Registrar()
    alice = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    bob = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    bob.on_request = registrar(bob)
    await alice.start()
    await bob.start()
    try:
        me = Address(SipUri("sip", "alice", REALM))
        request = alice.new_request("REGISTER", SipUri("sip", None, REALM), me, me)
        response = await alice.request(
            request, Peer("UDP", "127.0.0.1", bob.port), Credentials("alice", "wrong")
        )
        assert response.status == 401  # not retried forever: credentials were rejected
        assert len(registrar.seen) == 2
        assert registrar.results == [(False, "alice", "wrong response")]
    finally:
        await alice.stop()
        await bob.stop()


async def test_stale_nonce_is_retried_once_more() -> None:
    now = [1000.0]
    server = DigestServer(REALM, b"k" * 32, nonce_ttl=10, clock=lambda: now[0])
    registrar = Registrar(server=server)
    alice = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    bob = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    handle = registrar(bob)

    def aging(st: ServerTransaction) -> None:
        handle(st)
        if len(registrar.seen) == 1:
            now[0] += 60  # the nonce just issued is stale by the time it comes back

    bob.on_request = aging
    await alice.start()
    await bob.start()
    try:
        me = Address(SipUri("sip", "alice", REALM))
        request = alice.new_request("REGISTER", SipUri("sip", None, REALM), me, me)
        response = await alice.request(
            request, Peer("UDP", "127.0.0.1", bob.port), Credentials("alice", PASSWORD)
        )
        assert response.status == 200
        assert [r[2] for r in registrar.results] == ["nonce expired", "ok"]
        assert len(registrar.seen) == 3
    finally:
        await alice.stop()
        await bob.stop()


async def test_options_outside_a_dialog_answered_by_the_core(agents: Agents) -> None:
    request, peer = agents.request("OPTIONS")
    ct = await agents.alice.send(request, peer)
    response = await asyncio.wait_for(ct.final, 2)
    assert response.status == 200
    assert response.headers.get("Accept") == "application/sdp"
    assert "INVITE" in (response.headers.get("Allow") or "")
    assert response.to_addr.tag
    assert agents.handled == []  # the application never saw it


async def test_a_draining_user_agent_answers_options_503(agents: Agents) -> None:
    agents.bob.draining = True  # a cluster node leaving: the load balancer's probe fails
    request, peer = agents.request("OPTIONS")
    ct = await agents.alice.send(request, peer)
    response = await asyncio.wait_for(ct.final, 2)
    assert response.status == 503 and response.headers.get("Retry-After")
    assert agents.handled == []


async def test_bye_outside_a_dialog_and_unknown_dialog_are_481(agents: Agents) -> None:
    for method in ("BYE", "INFO", "UPDATE"):
        request, peer = agents.request(method)
        ct = await agents.alice.send(request, peer)
        assert (await asyncio.wait_for(ct.final, 2)).status == 481
    info, peer = agents.request("INFO")
    info.headers.set("To", f"{info.headers.get('To')};tag=nosuchdialog")
    ct = await agents.alice.send(info, peer)
    assert (await asyncio.wait_for(ct.final, 2)).status == 481
    assert agents.handled == []


async def test_other_requests_go_to_the_application(agents: Agents) -> None:
    request, peer = agents.request("MESSAGE")
    request.body = b"hello"
    ct = await agents.alice.send(request, peer)
    await asyncio.sleep(0.1)
    assert [st.request.method for st in agents.handled] == ["MESSAGE"]
    assert agents.handled[0].request.body == b"hello"
    agents.handled[0].respond(agents.bob.response(agents.handled[0].request, 202))
    assert (await asyncio.wait_for(ct.final, 2)).status == 202


async def test_silent_peer_ends_in_408_after_retransmissions() -> None:
    async with ua_and_raw() as (alice, raw):
        target = SipUri("sip", "x", "127.0.0.1", raw.port)
        me = Address(SipUri("sip", "alice", "127.0.0.1"))
        request = alice.new_request("OPTIONS", target, me, Address(target))
        start = asyncio.get_running_loop().time()
        response = await alice.request(request, Peer("UDP", "127.0.0.1", raw.port))
        elapsed = asyncio.get_running_loop().time() - start
        assert response.status == 408
        assert elapsed >= 64 * FAST.t1 * 0.9  # timer F
        copies = raw.drain()
        # timer E: T1, 2T1, 4T1, then every T2 until 64*T1: at least 10 copies of one request
        assert len(copies) >= 10 and len(set(copies)) == 1


async def test_unreachable_tcp_peer_is_503() -> None:
    async with ua_and_raw() as (alice, raw):  # a port where nothing listens on TCP
        target = SipUri("sip", "x", "127.0.0.1", raw.port)
        me = Address(SipUri("sip", "alice", "127.0.0.1"))
        request = alice.new_request("OPTIONS", target, me, Address(target), transport="TCP")
        with pytest.raises(SipError, match="cannot connect"):
            await alice.request(request, Peer("TCP", "127.0.0.1", raw.port))


async def test_malformed_request_is_answered_by_the_core(agents: Agents) -> None:
    with await RawUdp.open() as raw:
        bad = request_text("OPTIONS", agents.bob.port, raw.port).replace(
            b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"
        )
        raw.send(bad, agents.bob.port)
        response = await raw.next()
        assert isinstance(response, Response) and response.status == 400
        assert "does not match" in response.reason
        assert agents.handled == []


async def test_challenged_register_over_tls(tmp_path: Path) -> None:
    """Via, Contact and the re-sent (authorized) request all say TLS and name the TLS port."""
    identity = ensure_identity(tmp_path / "cert.pem", tmp_path / "key.pem", "127.0.0.1")
    registrar = Registrar()
    alice = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    bob = UserAgent(
        "127.0.0.1",
        0,
        lambda st: None,
        timers=FAST,
        tls_context=identity.server_context(),
    )
    bob.on_request = registrar(bob)
    await alice.start()
    await bob.start()
    try:
        tls_port = bob.transport.tls_port
        assert bob.port_for("TLS") == tls_port != bob.port == bob.port_for("TCP")
        assert bob.contact("bob", "TLS") == f"<sip:bob@127.0.0.1:{tls_port};transport=tls>"
        server = Peer("TLS", "127.0.0.1", tls_port)
        alice.transport.tls_clients[("127.0.0.1", tls_port)] = TlsClient(
            ssl.create_default_context(cafile=str(identity.certificate)), "127.0.0.1"
        )
        me = Address(SipUri("sip", "alice", REALM))
        request = alice.new_request("REGISTER", SipUri("sip", None, REALM), me, me, transport="TLS")
        response = await alice.request(request, server, Credentials("alice", PASSWORD))
        assert response.status == 200
        for seen in registrar.seen:
            assert seen.top_via.transport == "TLS"
            assert seen.headers.get("Contact", "").endswith(";transport=tls>")
        assert len(registrar.seen) == 2 and registrar.results[0][0]
    finally:
        await alice.stop()
        await bob.stop()


# -- option tags (RFC 3261 8.2.2.3) and handlers that raise ----------------------------


def with_headers(text: bytes, *lines: str) -> bytes:
    extra = "".join(f"{line}\r\n" for line in lines).encode()
    return text.replace(b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\n" + extra)


@pytest.mark.parametrize("method", ["INVITE", "OPTIONS", "REGISTER"])
async def test_unknown_required_tag_is_420_with_unsupported(agents: Agents, method: str) -> None:
    port = agents.bob.port
    with await RawUdp.open() as raw:
        text = with_headers(
            request_text(method, port, raw.port),
            "Require: foo, precondition",
            "Require: Foo",
            "Proxy-Require: x",
        )
        raw.send(text, port)
        answer = await raw.next()
        if isinstance(answer, Response) and answer.status == 100:
            answer = await raw.next()
        assert isinstance(answer, Response) and answer.status == 420
        assert answer.reason == "Bad Extension"
        # exactly the unsupported tags: Proxy-Require is not a UAS's business
        assert answer.headers.get_all("Unsupported") == ["foo", "precondition"]
        assert answer.to_addr.tag  # a final answer to a dialog-forming request
        assert answer.headers.get_all("Allow") == list(ALLOWED)
        assert agents.handled == []  # the application never saw it


async def test_supported_tags_are_required_freely(agents: Agents) -> None:
    agents.bob.supported = frozenset({"timer"})
    request, peer = agents.request("OPTIONS")
    request.headers.add("Require", "timer")
    ct = await agents.alice.send(request, peer)
    response = await asyncio.wait_for(ct.final, 2)
    assert response.status == 200
    assert response.headers.get_all("Supported") == ["timer"]
    assert response.headers.get_all("Allow") == list(ALLOWED)


async def test_cancel_with_require_is_still_honoured(agents: Agents) -> None:
    port = agents.bob.port
    with await RawUdp.open() as raw:
        raw.send(request_text("INVITE", port, raw.port), port)
        assert (await raw.next()).status == 100  # type: ignore[union-attr]
        await asyncio.sleep(0.05)
        assert [st.request.method for st in agents.handled] == ["INVITE"]
        cancel = with_headers(request_text("CANCEL", port, raw.port), "Require: foo")
        raw.send(cancel, port)
        answers = {m.cseq[1]: m.status for m in [await raw.next(), await raw.next()]}  # type: ignore[union-attr]
        assert answers == {"CANCEL": 200, "INVITE": 487}


def raising(st: ServerTransaction) -> None:
    raise RuntimeError("handler bug")


async def test_handler_that_raises_is_answered_500_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with ua_and_raw(raising) as (bob, raw):
        text = request_text("INVITE", bob.port, raw.port, call_id="boom-call")
        raw.send(text, bob.port)
        # answered at once, so no 100 Trying goes first (17.2.1)
        assert (await raw.next()).status == 500  # type: ignore[union-attr]
        raw.send(text, bob.port)  # a retransmission: the same 500, no second run
        again = await raw.next()
        assert isinstance(again, Response) and again.status == 500
        assert again.reason == "Server Internal Error" and again.to_addr.tag
        failures = [r for r in caplog.records if "handler failed" in r.getMessage()]
        assert len(failures) == 1
        assert "boom-call" in failures[0].getMessage() and failures[0].exc_info is not None


async def test_500_after_a_provisional_keeps_its_to_tag() -> None:
    def ring_then_fail(st: ServerTransaction) -> None:
        st.respond(bob.response(st.request, 180, to_tag="early1"))
        raise KeyError("lost")

    async with ua_and_raw(ring_then_fail) as (bob, raw):
        raw.send(request_text("INVITE", bob.port, raw.port), bob.port)
        got = [await raw.next() for _ in range(2)]
        assert [m.status for m in got] == [180, 500]  # type: ignore[union-attr]
        assert got[1].to_addr.tag == "early1"


async def test_dialog_usage_that_raises_is_answered_500(agents: Agents) -> None:
    class Broken:
        def on_request(self, st: ServerTransaction) -> None:
            raise ValueError("in-dialog bug")

        def on_ack(self, request: Request) -> None:
            raise ValueError("ack bug")

        def on_stray_response(self, response: Response) -> None:
            pass

    agents.bob.dialogs[("raw-call", "bobtag", "rawfrom")] = Broken()
    with await RawUdp.open() as raw:
        info = request_text("INFO", agents.bob.port, raw.port, to_tag="bobtag")
        raw.send(info, agents.bob.port)
        answer = await raw.next()
        assert isinstance(answer, Response) and answer.status == 500
        # an ACK that breaks its dialog's handler has nothing to answer and kills nothing
        raw.send(request_text("ACK", agents.bob.port, raw.port, to_tag="bobtag"), agents.bob.port)
        request, peer = agents.request("OPTIONS")
        ct = await agents.alice.send(request, peer)
        assert (await asyncio.wait_for(ct.final, 2)).status == 200


async def test_a_flood_of_failures_is_all_answered_but_not_all_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with ua_and_raw(raising) as (bob, raw):
        for n in range(30):
            raw.send(request_text("MESSAGE", bob.port, raw.port, branch=f"z9hG4bKf{n}"), bob.port)
        answers = [await raw.next() for _ in range(30)]
        assert all(isinstance(a, Response) and a.status == 500 for a in answers)
        failures = [r for r in caplog.records if "handler failed" in r.getMessage()]
        assert len(failures) == 10  # LogBudget's burst; the other 20 are counted


async def test_ack_with_require_is_never_answered(agents: Agents) -> None:
    port = agents.bob.port
    with await RawUdp.open() as raw:
        raw.send(request_text("INVITE", port, raw.port), port)
        assert (await raw.next()).status == 100  # type: ignore[union-attr]
        await asyncio.sleep(0.05)
        st = agents.handled[0]
        st.respond(agents.bob.response(st.request, 486, to_tag="busy"))
        assert (await raw.next()).status == 486  # type: ignore[union-attr]
        ack = request_text("ACK", port, raw.port, to_tag="busy")
        raw.send(
            ack.replace(b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\nRequire: foo\r\n"), port
        )
        await asyncio.sleep(FAST.t1 * 4)  # past a retransmission of the 486, had it no ACK
        assert raw.drain() == []  # no 420, and the ACK stopped the 486's retransmissions
        assert st.state in (TransactionState.CONFIRMED, TransactionState.TERMINATED)
