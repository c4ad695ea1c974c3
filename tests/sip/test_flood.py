"""The per-source flood guard: rate windows, bans, trust and exemption, on a hand clock."""

from __future__ import annotations

import asyncio
import logging

import pytest

from softswitch.sip.flood import FloodGuard, FloodLimits
from softswitch.sip.transport import Transport


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guard(clock: Clock, **limits: int) -> FloodGuard:
    return FloodGuard(FloodLimits(**{"rate": 10, "trusted_rate": 100, **limits}), clock=clock)


def test_a_source_over_the_rate_is_banned_then_the_ban_expires(caplog):
    clock = Clock()
    g = guard(clock, ban_seconds=30)
    caplog.set_level(logging.INFO, logger="softswitch.sip.flood")
    assert all(g.admit("10.0.0.1", 5060) for _ in range(10))
    assert not g.admit("10.0.0.1", 5060)  # the 11th in one second
    assert g.banned("10.0.0.1")
    for _ in range(1000):
        assert not g.admit("10.0.0.1", 5060)
    assert g.admit("10.0.0.2", 5060)  # another source is untouched
    bans = [r for r in caplog.records if "banned" in r.getMessage()]
    assert len(bans) == 1  # one line per ban, not per packet
    assert g.dropped == 1001
    clock.now += 30
    assert g.admit("10.0.0.1", 5060)
    assert not g.banned("10.0.0.1")


def test_the_window_restarts_each_second():
    clock = Clock()
    g = guard(clock)
    for _ in range(5):
        assert all(g.admit("10.0.0.1", 5060) for _ in range(10))
        clock.now += 1.0
    assert g.bans == 0


def test_an_authenticated_source_gets_the_trusted_rate_until_trust_ends():
    clock = Clock()
    g = guard(clock, trust_seconds=60)
    g.trust("192.0.2.7")  # an office NAT whose phones registered
    assert all(g.admit("192.0.2.7", 5060) for _ in range(100))
    assert not g.admit("192.0.2.7", 5060)  # even trust has a limit
    clock.now += 61  # ban over and trust expired
    assert all(g.admit("192.0.2.7", 5060) for _ in range(10))
    assert not g.admit("192.0.2.7", 5060)


def test_an_exempt_source_is_never_banned():
    clock = Clock()
    g = FloodGuard(
        FloodLimits(rate=10, trusted_rate=10),
        exempt=lambda host, port: (host, port) == ("203.0.113.5", 5060),
        clock=clock,
    )
    assert all(g.admit("203.0.113.5", 5060) for _ in range(10_000))
    assert not all(g.admit("203.0.113.5", 5999) for _ in range(11))  # not the trunk's port


def test_rate_zero_never_bans():
    g = guard(Clock(), rate=0)
    assert all(g.admit("10.0.0.1", 5060) for _ in range(10_000))


def test_a_spray_of_sources_keeps_the_table_bounded(monkeypatch):
    monkeypatch.setattr("softswitch.sip.flood.MAX_TRACKED", 100)
    clock = Clock()
    g = guard(clock)
    for i in range(1000):
        g.admit(f"10.0.{i // 256}.{i % 256}", 5060)
        clock.now += 0.01
    assert len(g._windows) <= 100


async def test_the_transport_drops_a_banned_sources_datagrams_unparsed():
    received: list[object] = []
    transport = Transport("127.0.0.1", 0, lambda msg, peer: received.append(msg))
    g = guard(Clock(), rate=3)
    transport.admit = g.admit
    await transport.start()
    loop = asyncio.get_running_loop()
    sender, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    try:
        options = (
            "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{}\r\n"
            "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: f{}\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        for i in range(20):
            sender.sendto(options.format(i, i).encode(), ("127.0.0.1", transport.port))
        await asyncio.sleep(0.2)
        assert len(received) == 3
        assert g.banned("127.0.0.1") and g.dropped == 17
    finally:
        sender.close()
        await transport.stop()


@pytest.mark.parametrize("count", [1, 50])
def test_untracked_sources_cost_one_window_each(count):
    g = guard(Clock())
    for i in range(count):
        g.admit(f"10.1.0.{i}", 5060)
    assert len(g._windows) == count


def test_privileged_means_trusted_now_or_exempt():
    clock = Clock()
    g = FloodGuard(
        FloodLimits(trust_seconds=10),
        exempt=lambda host, port: host == "203.0.113.5",
        clock=clock,
    )
    g.trust("192.0.2.7")
    assert g.privileged("192.0.2.7", 1) and g.privileged("203.0.113.5", 1)
    assert not g.privileged("198.51.100.1", 1)
    clock.now += 10
    assert not g.privileged("192.0.2.7", 1)
