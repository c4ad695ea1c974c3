"""NAT keepalive: OPTIONS pings reach each registered device at its flow (the source
of its REGISTER, not its Contact), spread over the interval, over real UDP sockets;
over TCP and TLS the ping is a double CRLF on the phone's own connection (real sockets),
with an OPTIONS only when the phone's pongs do not prove it alive."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from softswitch.keepalive import QUALIFY_ROUNDS, NatKeepalive
from softswitch.sip.framing import StreamFramer
from softswitch.sip.message import Request
from softswitch.sip.parser import parse_message
from softswitch.sip.transaction import Timers
from softswitch.sip.ua import UserAgent
from softswitch.store import Store
from softswitch.store.binding_paths import BindingPaths
from softswitch.store.database import Binding
from softswitch.tlsidentity import ensure_identity
from tests.sip.raw import RawUdp

FAST = Timers(t1=0.05, t2=0.2, t4=0.2)


def _binding(user: str, port: int, expires_in: float = 600, transport: str = "UDP") -> Binding:
    return Binding(
        aor=f"sip:{user}@switch",
        contact=f"sip:{user}@198.19.0.2:5060",  # the private address the phone claims
        expires_at=time.time() + expires_in,
        call_id=f"reg-{user}",
        cseq=1,
        transport=transport,
        source_host="127.0.0.1",  # where its REGISTER really came from
        source_port=port,
    )


@pytest.fixture
async def switch_side(tmp_path):
    store = Store(tmp_path / "k.db")
    ua = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    await ua.start()
    yield ua, store
    await ua.stop()
    store.close()


async def test_every_live_binding_is_pinged_at_its_flow(switch_side) -> None:
    ua, store = switch_side
    phones = [await RawUdp.open() for _ in range(2)]
    gone = await RawUdp.open()
    try:
        for user, phone in zip(("101", "102"), phones, strict=True):
            store.put_binding(_binding(user, phone.port))
        store.put_binding(_binding("103", gone.port, expires_in=-1))  # expired: left alone
        keepalive = NatKeepalive(ua, store, interval=0.4)
        keepalive.start()
        seen: set[str] = set()
        for user, phone in zip(("101", "102"), phones, strict=True):
            first = await phone.next(timeout=2.0)
            seen.add(first.call_id)
            assert isinstance(first, Request) and first.method == "OPTIONS"
            assert str(first.uri) == f"sip:{user}@198.19.0.2:5060"
            assert "SIP/2.0/UDP 127.0.0.1:" in (first.headers.get("Via") or "")
            phone.send(first.make_response(200).to_bytes(), ua.port)
            again = await phone.next(timeout=2.0)
            while again.call_id == first.call_id:  # a retransmission sent before our 200
                again = await phone.next(timeout=2.0)
            seen.add(again.call_id)
            assert isinstance(again, Request) and again.method == "OPTIONS"  # the next round
        await asyncio.sleep(0.3)
        assert gone.drain() == []
        assert keepalive.sent >= 4
        await keepalive.stop()
        sent_before = {parse_message(m).call_id for p in phones for m in p.drain()}
        sent_before |= {first.call_id, again.call_id}
        await asyncio.sleep(0.5)
        # stopped means no new pings (the transactions already out may still retransmit)
        sent_after = {parse_message(m).call_id for p in phones for m in p.drain()}
        assert sent_after <= sent_before | seen
    finally:
        for raw in (*phones, gone):
            raw.close()


async def test_zero_interval_is_off(switch_side) -> None:
    ua, store = switch_side
    phone = await RawUdp.open()
    try:
        store.put_binding(_binding("101", phone.port))
        keepalive = NatKeepalive(ua, store, interval=0)
        keepalive.start()
        await asyncio.sleep(0.3)
        assert phone.drain() == [] and keepalive.sent == 0
        await keepalive.stop()
    finally:
        phone.close()


async def test_a_silent_phone_does_not_stop_the_rounds(switch_side) -> None:
    ua, store = switch_side
    silent, answering = await RawUdp.open(), await RawUdp.open()
    try:
        store.put_binding(_binding("101", silent.port))
        store.put_binding(_binding("102", answering.port))
        keepalive = NatKeepalive(ua, store, interval=0.2)
        keepalive.start()
        for _ in range(3):
            ping = await answering.next(timeout=2.0)
            assert isinstance(ping, Request)
            answering.send(ping.make_response(200).to_bytes(), ua.port)
        await keepalive.stop()
    finally:
        silent.close()
        answering.close()


async def test_a_device_that_stops_answering_is_unreachable_until_it_answers(switch_side):
    ua, store = switch_side
    phone = await RawUdp.open()
    try:
        binding = _binding("101", phone.port)
        store.put_binding(binding)
        keepalive = NatKeepalive(ua, store, interval=0.3)
        assert keepalive.reachable(binding)
        keepalive.start()
        # silent: the OPTIONS transaction times out (64 * T1 = 3.2 s with FAST timers)
        deadline = time.monotonic() + 6
        while keepalive.reachable(binding) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not keepalive.reachable(binding)
        assert keepalive.unreachable() == [binding.contact]
        # a refreshed registration (a new CSeq) counts as reachable again at once
        refreshed = dataclasses.replace(binding, cseq=binding.cseq + 1)
        assert keepalive.reachable(refreshed)
        # and answering a ping clears the mark for good
        phone.drain()
        while True:
            ping = await phone.next(timeout=2.0)
            phone.send(ping.make_response(200).to_bytes(), ua.port)
            await asyncio.sleep(0.05)
            if keepalive.reachable(binding):
                break
        assert keepalive.unreachable() == []
        await keepalive.stop()
    finally:
        phone.close()


# --- TCP and TLS flows: RFC 5626 CRLF pings ----------------------------------------------------


class StreamPhone:
    """A phone's end of a TCP/TLS connection to the switch: it reads the switch's pings
    and requests with the real framer and answers pings with a pong while ``pongs``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.port: int = writer.get_extra_info("sockname")[1]
        self.framer = StreamFramer()
        self.pings = 0
        self.requests: asyncio.Queue[Request] = asyncio.Queue()
        self.pings_before: list[int] = []  # pings received before each request
        self.pongs = True
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port: int, context: ssl.SSLContext | None = None) -> StreamPhone:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1" if context else None
        )
        return cls(reader, writer)

    async def _read(self) -> None:
        while data := await self.reader.read(4096):
            messages = self.framer.feed(data)
            if self.framer.pings:  # the switch writes its ping before any request
                self.pings += self.framer.pings
                self.framer.pings = 0
                if self.pongs:
                    self.writer.write(b"\r\n")
            for raw in messages:
                message = parse_message(raw)
                assert isinstance(message, Request)
                self.pings_before.append(self.pings)
                self.requests.put_nowait(message)

    def answer(self, request: Request) -> None:
        self.writer.write(request.make_response(200).to_bytes())

    async def close(self) -> None:
        self._task.cancel()
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            await asyncio.wait_for(self.writer.wait_closed(), 2)


async def _until(condition, timeout: float = 3.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory):
    folder: Path = tmp_path_factory.mktemp("tls")
    return ensure_identity(folder / "cert.pem", folder / "key.pem", "127.0.0.1")


@pytest.fixture
async def stream_switch(tmp_path, identity):
    store = Store(tmp_path / "k.db")
    ua = UserAgent(
        "127.0.0.1", 0, lambda st: None, timers=FAST, tls_context=identity.server_context()
    )
    await ua.start()
    yield ua, store
    await ua.stop()
    store.close()


async def _flow(ua: UserAgent, kind: str, identity) -> StreamPhone:
    if kind == "TLS":
        context = ssl.create_default_context(cafile=str(identity.certificate))
        return await StreamPhone.connect(ua.transport.tls_port, context)
    return await StreamPhone.connect(ua.port)


@contextlib.asynccontextmanager
async def flow_kept_alive(
    stream_switch, identity, kind: str, interval: float, pongs: bool = True
) -> AsyncIterator[tuple[StreamPhone, Binding, NatKeepalive]]:
    """101's phone on a ``kind`` connection (answering pings with pongs unless told not
    to), its binding stored and a NatKeepalive every ``interval`` s running; the
    keepalive is stopped and the connection closed after."""
    ua, store = stream_switch
    phone = await _flow(ua, kind, identity)
    phone.pongs = pongs
    try:
        binding = _binding("101", phone.port, transport=kind)
        store.put_binding(binding)
        keepalive = NatKeepalive(ua, store, interval=interval)
        keepalive.start()
        try:
            yield phone, binding, keepalive
        finally:
            await keepalive.stop()
    finally:
        await phone.close()


@pytest.mark.parametrize("kind", ["TCP", "TLS"])
async def test_a_flow_is_pinged_with_crlf_on_its_connection_not_options(
    stream_switch, identity, kind: str
) -> None:
    async with flow_kept_alive(stream_switch, identity, kind, 0.1) as flow:
        phone, binding, keepalive = flow
        await _until(lambda: phone.pings >= 2 * QUALIFY_ROUNDS, what="pings on the connection")
        # the phone answers every ping: no OPTIONS is needed to know it is alive
        assert phone.requests.empty() and keepalive.sent == 0
        assert keepalive.crlf_sent >= phone.pings
        assert keepalive.reachable(binding) and keepalive.unreachable() == []


async def test_a_flow_that_never_pongs_is_qualified_by_options_now_and_then(
    stream_switch, identity
) -> None:
    # a phone that skips CRLFs silently (RFC 3261 7.5)
    async with flow_kept_alive(stream_switch, identity, "TCP", 0.1, pongs=False) as flow:
        phone, binding, keepalive = flow
        options = await asyncio.wait_for(phone.requests.get(), 3)
        assert options.method == "OPTIONS" and "SIP/2.0/TCP" in (options.headers.get("Via") or "")
        # one OPTIONS in QUALIFY_ROUNDS rounds, not one each (the first round only pings)
        assert phone.pings_before == [QUALIFY_ROUNDS + 1]
        phone.answer(options)
        await asyncio.sleep(0.3)
        assert keepalive.reachable(binding)
        # stops answering the OPTIONS too: unreachable once the transaction times out
        deadline = time.monotonic() + 8
        while keepalive.reachable(binding) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not keepalive.reachable(binding)
        assert keepalive.unreachable() == [binding.contact]


async def test_a_flow_that_stops_ponging_is_asked_at_once(stream_switch, identity) -> None:
    async with flow_kept_alive(stream_switch, identity, "TLS", 0.2) as flow:
        phone, binding, keepalive = flow
        await _until(lambda: phone.pings >= 3, what="pings")
        phone.pongs = False  # hung, or its pongs lost
        silent_from = phone.pings
        options = await asyncio.wait_for(phone.requests.get(), 3)
        assert options.method == "OPTIONS"
        # the first missed pong is enough (and maybe a pong still on its way)
        assert phone.pings_before[0] - silent_from <= 2
        phone.answer(options)
        await asyncio.sleep(0.2)
        assert keepalive.reachable(binding)


@pytest.mark.parametrize("kind", ["TCP", "TLS"])
async def test_a_closed_flow_is_unreachable_at_once_until_it_registers_again(
    stream_switch, identity, kind: str
) -> None:
    ua, store = stream_switch
    phone = await _flow(ua, kind, identity)
    binding = _binding("101", phone.port, transport=kind)
    store.put_binding(binding)
    # a long interval: only the closed connection can tell, not a round of pings
    keepalive = NatKeepalive(ua, store, interval=30)
    keepalive.start()
    try:
        await asyncio.sleep(0.1)
        assert keepalive.reachable(binding)
        await phone.close()
        await _until(lambda: not keepalive.reachable(binding), 2, "closed flow unreachable")
        assert keepalive.unreachable() == [binding.contact]
        # the phone comes back on a new connection and registers again (a new CSeq)
        again = await _flow(ua, kind, identity)
        try:
            refreshed = dataclasses.replace(binding, cseq=2, source_port=again.port)
            store.put_binding(refreshed)
            assert keepalive.reachable(refreshed)
        finally:
            await again.close()
    finally:
        await keepalive.stop()


async def test_a_flow_whose_connection_is_already_gone_is_unreachable(stream_switch) -> None:
    ua, store = stream_switch
    binding = _binding("101", 9, transport="TCP")  # no connection from that port
    store.put_binding(binding)
    keepalive = NatKeepalive(ua, store, interval=0.1)
    keepalive.start()
    try:
        await _until(lambda: not keepalive.reachable(binding), 2, "no connection")
        assert keepalive.crlf_sent == 0 and keepalive.sent == 0  # nothing tried to connect
        assert keepalive.unreachable() == [binding.contact]
        # the phone registers again over a new connection: off /health at the next round
        phone = await StreamPhone.connect(ua.port)
        try:
            refreshed = dataclasses.replace(binding, cseq=2, source_port=phone.port)
            store.put_binding(refreshed)
            assert keepalive.reachable(refreshed)
            await _until(lambda: keepalive.unreachable() == [], 2, "mark dropped")
            await _until(lambda: phone.pings >= 2, 2, "pinged on the new connection")
            assert keepalive.reachable(refreshed)
        finally:
            await phone.close()
    finally:
        await keepalive.stop()


async def test_a_phone_behind_a_front_door_is_pinged_through_its_path(switch_side) -> None:
    ua, store = switch_side
    proxy = await RawUdp.open()  # the front door the phone registered through
    try:
        binding = _binding("101", proxy.port)
        store.put_binding(binding)
        paths = BindingPaths(store.db)
        path = f"<sip:127.0.0.1:{proxy.port};lr;received=sip:198.19.0.2:5060>"
        paths.put(binding.aor, binding.contact, path)
        keepalive = NatKeepalive(ua, store, interval=0.4, paths=paths)
        keepalive.start()
        ping = await proxy.next(timeout=2.0)
        assert isinstance(ping, Request) and ping.method == "OPTIONS"
        assert ping.headers.get_all("Route") == [path]  # RFC 3327: the Path is the route
        assert str(ping.uri) == binding.contact
        await keepalive.stop()
    finally:
        proxy.close()
