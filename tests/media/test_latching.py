"""Latching and symmetric RTP in RtpSession, with real UDP sockets on 127.0.0.1 and ::1."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from media import g711
from media.ports import PortAllocator
from media.rtp import RtpPacket
from media.session import RtpSession
from tests.media.test_session import HOST, RawPeer, tone, ulaw_packet, until


@pytest.fixture
def ports() -> PortAllocator:
    return PortAllocator(36000, 36999)


async def session_and_peers(
    ports: PortAllocator, count: int = 2, host: str = HOST, **kw
) -> tuple[RtpSession, list[RawPeer]]:
    session = await RtpSession.open(host, ports, **kw)
    peers = [await RawPeer.open(host) for _ in range(count)]
    return session, peers


def close(session: RtpSession, peers: list[RawPeer]) -> None:
    session.close()
    for peer in peers:
        peer.transport.close()


async def test_latches_to_the_real_source_when_sdp_named_another_port(ports) -> None:
    session, (phone, _) = await session_and_peers(ports)
    session.set_remote(HOST, phone.port + 1000, "PCMU", 0, 101)  # the SDP's (private) port
    phone.send(session, ulaw_packet(1, tone(1), ssrc=1234))
    await until(lambda: session.packets_received == 1)
    assert session.remote == (HOST, phone.port) and session.source_ssrc == 1234
    session.write_frame(tone(2))
    await until(lambda: len(phone.packets) == 1)  # media goes where the phone really is
    close(session, [phone])


async def test_injection_from_a_third_address_is_dropped_and_counted(ports) -> None:
    session, (phone, intruder) = await session_and_peers(ports)
    session.set_remote(HOST, phone.port, "PCMU", 0, 101)
    for seq in range(1, 4):
        phone.send(session, ulaw_packet(seq, tone(seq), ssrc=1))
    await until(lambda: session.packets_received == 3)
    loud = np.full(160, 30000, dtype=np.int16)
    for seq in range(4, 14):
        intruder.send(session, ulaw_packet(seq, loud, ssrc=1))  # same SSRC, next seqs
        intruder.send(
            session, RtpPacket(pt=101, seq=seq, timestamp=0, ssrc=1, payload=b"\x05\x80\x00\xa0")
        )
    await until(lambda: session.injected == 20)
    assert session.packets_received == 3 and session.dtmf_received == 0
    assert session.remote == (HOST, phone.port)
    heard = [session.read_frame() for _ in range(6)]
    expected = g711.ulaw_decode(g711.ulaw_encode(tone(1)))
    assert np.array_equal(heard[0], expected)
    assert not any(frame is not None and frame.max() > 20000 for frame in heard)  # never played
    session.write_frame(tone(5))
    await until(lambda: len(phone.packets) == 1)
    await asyncio.sleep(0.05)
    assert intruder.packets == []  # nor does it get our media
    assert session.stats["injected"] == 20
    close(session, [phone, intruder])


async def test_relatches_after_the_source_is_silent(ports) -> None:
    session, (old, new) = await session_and_peers(ports)
    session.relatch_after = 0.3
    session.set_remote(HOST, old.port, "PCMU", 0, None)
    old.send(session, ulaw_packet(1, tone(1), ssrc=1))
    await until(lambda: session.packets_received == 1)
    # While the old source keeps talking, the new one is refused however long it tries.
    for seq in range(2, 12):
        old.send(session, ulaw_packet(seq, tone(seq), ssrc=1))
        new.send(session, ulaw_packet(seq, tone(seq), ssrc=2))
        await asyncio.sleep(0.05)
    assert session.remote == (HOST, old.port) and session.injected == 10
    # The old source falls silent (the phone moved): after relatch_after the new one wins.
    seq = 12
    while session.remote != (HOST, new.port):
        new.send(session, ulaw_packet(seq, tone(seq), ssrc=2))
        seq += 1
        await asyncio.sleep(0.05)
        assert seq < 40, "never re-latched"
    assert seq - 12 >= 0.3 / 0.05  # not before the silence lasted relatch_after
    assert session.source_ssrc == 2
    session.write_frame(tone(1))
    await until(lambda: len(new.packets) == 1)
    close(session, [old, new])


async def test_relatches_after_set_remote(ports) -> None:
    session, (old, new) = await session_and_peers(ports)
    session.set_remote(HOST, old.port, "PCMU", 0, None)
    old.send(session, ulaw_packet(1, tone(1), ssrc=1))
    await until(lambda: session.packets_received == 1)
    new.send(session, ulaw_packet(2, tone(2), ssrc=2))
    await until(lambda: session.injected == 1)
    # A re-INVITE from the phone (same SDP: it moved behind its NAT) lets the next source latch.
    session.set_remote(HOST, old.port, "PCMU", 0, None)
    assert session.remote == (HOST, old.port)  # until then media keeps going to the old one
    new.send(session, ulaw_packet(3, tone(3), ssrc=2))
    await until(lambda: session.packets_received == 2)
    assert session.remote == (HOST, new.port) and session.injected == 1
    old.send(session, ulaw_packet(4, tone(4), ssrc=1))
    await until(lambda: session.injected == 2)  # now the old address is the stranger
    close(session, [old, new])


async def test_wrong_payload_type_does_not_latch(ports) -> None:
    session, (phone, stranger) = await session_and_peers(ports)
    session.set_remote(HOST, phone.port, "PCMU", 0, 101)
    stranger.send(session, RtpPacket(pt=8, seq=1, timestamp=0, ssrc=9, payload=b"\xd5" * 160))
    stranger.send(session, RtpPacket(pt=13, seq=2, timestamp=0, ssrc=9, payload=b"\x40"))  # CN
    await until(lambda: session.ignored == 1 and session.packets_received == 1)
    assert session.remote == (HOST, phone.port)  # neither PCMA (not negotiated) nor CN latched
    phone.send(session, ulaw_packet(3, tone(3), ssrc=1))
    await until(lambda: session.packets_received == 2)
    assert session.remote == (HOST, phone.port) and session.source_ssrc == 1
    close(session, [phone, stranger])


async def test_without_symmetric_media_goes_to_the_sdp_address_but_injection_is_dropped(
    ports,
) -> None:
    session, (phone, intruder) = await session_and_peers(ports, symmetric=False)
    sdp_port = phone.port + 1000
    session.set_remote(HOST, sdp_port, "PCMU", 0, None)
    phone.send(session, ulaw_packet(1, tone(1), ssrc=1))
    await until(lambda: session.packets_received == 1)
    assert session.remote == (HOST, sdp_port)
    intruder.send(session, ulaw_packet(2, tone(2), ssrc=1))
    await until(lambda: session.injected == 1)
    close(session, [phone, intruder])


async def test_ipv6_latching_follows_the_real_source_and_drops_a_third_one(ports) -> None:
    session, (phone, intruder) = await session_and_peers(ports, host="::1")
    session.set_remote("::1", phone.port + 1000, "PCMU", 0, 101)  # the SDP's port
    phone.send(session, ulaw_packet(1, tone(1), ssrc=1234))
    await until(lambda: session.packets_received == 1)
    assert session.remote is not None and session.remote[:2] == ("::1", phone.port)
    phone.send(session, ulaw_packet(2, tone(2), ssrc=1234))
    intruder.send(session, ulaw_packet(3, tone(3), ssrc=1234))
    await until(lambda: session.injected == 1)
    assert session.packets_received == 2
    session.write_frame(tone(4))
    await until(lambda: len(phone.packets) == 1)
    assert intruder.packets == []
    close(session, [phone, intruder])
