"""NAT keepalive: OPTIONS pings reach each registered device at its flow (the source
of its REGISTER, not its Contact), spread over the interval, over real UDP sockets."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from softswitch.keepalive import NatKeepalive
from softswitch.sip.message import Request
from softswitch.sip.parser import parse_message
from softswitch.sip.transaction import Timers
from softswitch.sip.ua import UserAgent
from softswitch.store import Store
from softswitch.store.database import Binding
from tests.sip.raw import RawUdp

FAST = Timers(t1=0.05, t2=0.2, t4=0.2)


def _binding(user: str, port: int, expires_in: float = 600) -> Binding:
    return Binding(
        aor=f"sip:{user}@switch",
        contact=f"sip:{user}@198.19.0.2:5060",  # the private address the phone claims
        expires_at=time.time() + expires_in,
        call_id=f"reg-{user}",
        cseq=1,
        transport="UDP",
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
