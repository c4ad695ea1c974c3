import asyncio
import logging
import socket
from collections.abc import Callable

import numpy as np
import pytest

from media import g711
from media.clock import MediaClock
from media.dtmf import DtmfEvent
from media.ports import PortAllocator, PortsExhausted
from media.rtp import RtpPacket
from media.session import RtpSession
from media.srtp import SrtpContext, SrtpKey, SrtpSuite

HOST = "127.0.0.1"


@pytest.fixture
def ports() -> PortAllocator:
    return PortAllocator(26000, 27999)


def tone(n: int, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(160) + 160 * n
    return (np.sin(2 * np.pi * (300 + 50 * n) * t / 8000) * amplitude).astype(np.int16)


async def until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.002)


async def until_received(session: RtpSession, count: int) -> None:
    """Until `session` has received `count` packets in all."""
    await until(lambda: session.packets_received >= count)


async def pair(
    ports: PortAllocator, codec: str = "PCMU", pt: int = 0, dtmf: int | None = 101, **kw
) -> tuple[RtpSession, RtpSession]:
    a = await RtpSession.open(HOST, ports, **kw)
    b = await RtpSession.open(HOST, ports, **kw)
    a.set_remote(HOST, b.local_port, codec, pt, dtmf)
    b.set_remote(HOST, a.local_port, codec, pt, dtmf)
    return a, b


class RawPeer(asyncio.DatagramProtocol):
    """A bare UDP socket playing the remote side, to craft or inspect packets."""

    def __init__(self, host: str = HOST) -> None:
        self.packets: list[RtpPacket] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.host = host

    def datagram_received(self, data: bytes, addr) -> None:
        self.packets.append(RtpPacket.parse(data))

    @classmethod
    async def open(cls, host: str = HOST) -> "RawPeer":
        loop = asyncio.get_running_loop()
        peer = cls(host)
        peer.transport, _ = await loop.create_datagram_endpoint(lambda: peer, local_addr=(host, 0))
        return peer

    @property
    def port(self) -> int:
        return self.transport.get_extra_info("sockname")[1]

    def send(self, session: RtpSession, packet: RtpPacket) -> None:
        self.transport.sendto(packet.to_bytes(), (self.host, session.local_port))


def ulaw_packet(seq: int, frame: np.ndarray, ssrc: int = 77, pt: int = 0) -> RtpPacket:
    return RtpPacket(
        pt=pt, seq=seq & 0xFFFF, timestamp=seq * 160, ssrc=ssrc, payload=g711.ulaw_encode(frame)
    )


async def stream_through(
    a: RtpSession, b: RtpSession, frames: list[np.ndarray]
) -> list[np.ndarray | None]:
    """One tick at a time: a writes a frame, it arrives, b reads one."""
    out = []
    for frame in frames:
        target = b.packets_received + 1
        a.write_frame(frame)
        await until_received(b, target)
        out.append(b.read_frame())
    return out


async def test_frames_arrive_intact_both_ways(ports: PortAllocator) -> None:
    for codec, pt in (("PCMU", 0), ("PCMA", 8)):
        a, b = await pair(ports, codec, pt)
        frames = [tone(n) for n in range(8)]
        got = await stream_through(a, b, frames)
        assert got[0] is None  # prefetch: playout starts after two frames
        for sent, heard in zip(frames, got[1:], strict=False):
            assert np.array_equal(heard, g711.decode(codec, g711.encode(codec, sent)))
        back = await stream_through(b, a, frames[:4])
        assert np.array_equal(back[1], g711.decode(codec, g711.encode(codec, frames[0])))
        assert a.stats["packets_sent"] == 8 and b.stats["packets_received"] == 8
        assert b.stats["octets_received"] == 8 * 160 and b.stats["lost"] == 0
        a.close()
        b.close()
    assert ports.in_use == 0


async def test_transcoding_pcmu_leg_to_pcma_leg(ports: PortAllocator) -> None:
    # A -PCMU-> B (switch leg 1), B's frames re-sent by C -PCMA-> D (switch leg 2).
    a, b = await pair(ports, "PCMU", 0)
    c, d = await pair(ports, "PCMA", 8)
    frames = [tone(n, 12000) for n in range(10)]
    heard = []
    for frame in frames:
        target = b.packets_received + 1
        a.write_frame(frame)
        await until_received(b, target)
        relayed = b.read_frame()
        if relayed is not None:
            target_d = d.packets_received + 1
            c.write_frame(relayed)
            await until_received(d, target_d)
            heard.append(d.read_frame())
    expected = [
        g711.alaw_decode(g711.alaw_encode(g711.ulaw_decode(g711.ulaw_encode(f)))) for f in frames
    ]
    assert heard[0] is None
    for exp, got in zip(expected, heard[1:], strict=False):
        assert np.array_equal(got, exp)
    assert len(heard) == 9
    for s in (a, b, c, d):
        s.close()


async def test_dtmf_events_arrive_once_while_audio_flows(ports: PortAllocator) -> None:
    a, b = await pair(ports)
    digits: list[str] = []
    b.on_dtmf = digits.append
    clock = MediaClock()
    clock.add(lambda tick: a.write_frame(tone(tick % 10)))
    clock.add(lambda tick: b.read_frame())
    clock.start()
    for digit in "5#1":
        a.send_dtmf(digit, 60)
    await until(lambda: len(digits) == 3 and not a._dtmf_tx.active)
    await asyncio.sleep(0.1)  # any stray duplicate end packets would have arrived
    clock.stop()
    assert digits == ["5", "#", "1"]
    assert b.stats["dtmf_received"] == 3
    assert b.stats["lost"] == 0
    a.close()
    b.close()


async def test_dtmf_without_audio_ticks_uses_session_timer(ports: PortAllocator) -> None:
    a = await RtpSession.open(HOST, ports)
    peer = await RawPeer.open()
    a.set_remote(HOST, peer.port, "PCMU", 0, 96)
    a.send_dtmf("9", 100)
    await until(lambda: len(peer.packets) == 7)
    await asyncio.sleep(0.1)
    assert len(peer.packets) == 7
    events = [DtmfEvent.parse(p.payload) for p in peer.packets]
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert [p.marker for p in peer.packets] == [True] + [False] * 6
    assert {p.pt for p in peer.packets} == {96}
    assert len({p.timestamp for p in peer.packets}) == 1
    seqs = [p.seq for p in peer.packets]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(7)]
    a.close()
    peer.transport.close()


async def test_dtmf_not_sent_without_telephone_event(ports: PortAllocator) -> None:
    a = await RtpSession.open(HOST, ports)
    peer = await RawPeer.open()
    a.set_remote(HOST, peer.port, "PCMU", 0, None)
    a.send_dtmf("1")
    await asyncio.sleep(0.1)
    assert peer.packets == []
    with pytest.raises(ValueError):
        a.set_remote(HOST, peer.port, "G729", 18, None)
    a.close()
    peer.transport.close()


async def test_loss_is_concealed_then_silenced(ports: PortAllocator) -> None:
    b = await RtpSession.open(HOST, ports)
    peer = await RawPeer.open()
    b.set_remote(HOST, peer.port, "PCMU", 0, 101)
    frames = {seq: tone(seq) for seq in range(1, 12)}
    dropped = {4, 7, 8, 9, 10}
    got = {}
    for seq in range(1, 12):
        if seq not in dropped:
            target = b.packets_received + 1
            peer.send(b, ulaw_packet(seq, frames[seq]))
            await until_received(b, target)
        got[seq] = b.read_frame()  # plays seq - 1 (one frame of prefetch delay)
    decoded = {seq: g711.ulaw_decode(g711.ulaw_encode(f)) for seq, f in frames.items()}
    played = [got[seq + 1] for seq in range(1, 11)]
    assert np.array_equal(played[0], decoded[1])
    assert np.array_equal(played[2], decoded[3])
    assert np.array_equal(played[3], decoded[3] >> 1)  # seq 4 lost: last frame at -6 dB
    assert np.array_equal(played[4], decoded[5])
    assert np.array_equal(played[6], decoded[6] >> 1)  # 7..10 lost: fade, then silence
    assert np.array_equal(played[7], decoded[6] >> 2)
    assert not played[8].any()
    assert np.array_equal(played[9], decoded[11])  # the next frame that arrives plays at once
    assert b.stats["lost"] == 5 and b.stats["concealed"] == 4
    # the metrics' cheap read says what stats says
    stats = b.stats
    assert b.counters() == (
        stats["packets_received"],
        stats["packets_sent"],
        5,
        stats["late"],
        stats["jitter"],
    )
    peer.send(b, ulaw_packet(2, frames[2]))  # long after its playout: late
    await until_received(b, b.packets_received + 1)
    assert b.counters()[3] == b.stats["late"] == 1
    b.close()
    peer.transport.close()


async def test_reordered_packets_are_played_in_order(ports: PortAllocator) -> None:
    b = await RtpSession.open(HOST, ports)
    peer = await RawPeer.open()
    b.set_remote(HOST, peer.port, "PCMU", 0, None)
    frames = {seq: tone(seq) for seq in range(1, 9)}
    arrivals = [[1], [3, 2], [4], [6, 5], [7], [8]]
    played = []
    for batch in arrivals:
        before = b.packets_received
        for seq in batch:
            peer.send(b, ulaw_packet(seq, frames[seq]))
        await until_received(b, before + len(batch))
        played.append(b.read_frame())
    expected = [g711.ulaw_decode(g711.ulaw_encode(frames[s])) for s in range(1, 6)]
    assert played[0] is None
    for exp, got in zip(expected, played[1:], strict=False):
        assert np.array_equal(got, exp)
    assert b.stats["concealed"] == 0 and b.stats["lost"] == 0
    b.close()
    peer.transport.close()


async def test_clock_driven_send_is_steady(ports: PortAllocator) -> None:
    a = await RtpSession.open(HOST, ports)
    peer = await RawPeer.open()
    a.set_remote(HOST, peer.port, "PCMA", 8, None)
    clock = MediaClock()
    ticks: list[int] = []

    def tick(n: int) -> None:
        ticks.append(n)
        a.write_frame(tone(n))

    clock.add(tick)
    clock.start()
    await until(lambda: len(ticks) >= 25)
    clock.stop()
    await until(lambda: len(peer.packets) == len(ticks))
    packets = peer.packets
    assert len(packets) == len(ticks) == a.stats["packets_sent"]
    assert [p.seq for p in packets] == [(packets[0].seq + i) & 0xFFFF for i in range(len(packets))]
    assert [
        (q.timestamp - p.timestamp) & 0xFFFFFFFF for p, q in zip(packets, packets[1:], strict=False)
    ] == [160] * (len(packets) - 1)
    assert [p.marker for p in packets] == [True] + [False] * (len(packets) - 1)
    assert {p.pt for p in packets} == {8} and {len(p.payload) for p in packets} == {160}
    assert len({p.ssrc for p in packets}) == 1
    a.close()
    peer.transport.close()


async def test_marker_and_timestamp_jump_after_silence(ports: PortAllocator) -> None:
    a = await RtpSession.open(HOST, ports)
    peer = await RawPeer.open()
    a.set_remote(HOST, peer.port, "PCMU", 0, None)
    a.write_frame(tone(0))
    a.write_frame(tone(1))
    await asyncio.sleep(0.2)  # we sent nothing for ~10 frames
    a.write_frame(tone(2))
    await until(lambda: len(peer.packets) == 3)
    p0, p1, p2 = peer.packets
    assert (p0.marker, p1.marker, p2.marker) == (True, False, True)
    assert (p1.timestamp - p0.timestamp) & 0xFFFFFFFF == 160
    assert (p2.timestamp - p1.timestamp) & 0xFFFFFFFF >= 160 * 8
    assert (p2.seq - p1.seq) & 0xFFFF == 1
    a.close()
    peer.transport.close()


async def test_hold_directions(ports: PortAllocator) -> None:
    a, b = await pair(ports)
    a.direction = "recvonly"  # a is on hold: sends nothing
    a.write_frame(tone(0))
    b.direction = "sendonly"  # b discards what arrives
    b.write_frame(tone(1))
    b.write_frame(tone(2))
    b.write_frame(tone(3))
    await until(lambda: a.packets_received == 3)
    assert a.stats["packets_sent"] == 0
    assert a.read_frame() is not None  # a still receives
    a.direction = "sendrecv"
    a.write_frame(tone(4))
    await until(lambda: b.ignored == 1)
    assert b.packets_received == 0 and b.read_frame() is None
    b.direction = "inactive"
    b.write_frame(tone(5))
    await asyncio.sleep(0.05)
    assert b.packets_sent == 3
    with pytest.raises(ValueError):
        a.direction = "both"
    a.close()
    b.close()


async def test_symmetric_rtp_latches_to_actual_source(ports: PortAllocator) -> None:
    b = await RtpSession.open(HOST, ports)
    peer = await RawPeer.open()
    b.set_remote(HOST, peer.port + 1000, "PCMU", 0, None)  # SDP says one port, peer uses another
    assert b.remote == (HOST, peer.port + 1000)
    peer.send(b, ulaw_packet(1, tone(1)))
    await until(lambda: b.packets_received == 1)
    assert b.remote == (HOST, peer.port)
    b.write_frame(tone(2))
    await until(lambda: len(peer.packets) == 1)
    # the same SDP again (re-INVITE without change) keeps the latched address ...
    b.set_remote(HOST, peer.port + 1000, "PCMU", 0, None)
    assert b.remote == (HOST, peer.port)
    # ... a new SDP address replaces it
    b.set_remote(HOST, peer.port + 2000, "PCMU", 0, None)
    assert b.remote == (HOST, peer.port + 2000)
    b.close()
    peer.transport.close()


async def test_comfort_noise_is_silence_and_other_payloads_ignored(ports: PortAllocator) -> None:
    b = await RtpSession.open(HOST, ports)
    peer = await RawPeer.open()
    b.set_remote(HOST, peer.port, "PCMU", 0, 101)
    peer.send(b, ulaw_packet(1, tone(1)))
    peer.send(b, RtpPacket(pt=13, seq=2, timestamp=320, ssrc=77, payload=b"\x40"))
    peer.send(
        b, RtpPacket(pt=8, seq=3, timestamp=480, ssrc=77, payload=b"\xd5" * 160)
    )  # not negotiated
    b._rtp_garbage = peer.transport.sendto(b"\x00" * 20, (HOST, b.local_port))  # not RTP
    peer.send(b, ulaw_packet(3, tone(3)))
    await until(lambda: b.packets_received == 3 and b.ignored == 1 and b.malformed == 1)
    assert np.array_equal(b.read_frame(), g711.ulaw_decode(g711.ulaw_encode(tone(1))))
    cn = b.read_frame()
    assert cn is not None and not cn.any()
    assert np.array_equal(b.read_frame(), g711.ulaw_decode(g711.ulaw_encode(tone(3))))
    assert b.stats["lost"] == 0 and b.stats["concealed"] == 0
    b.close()
    peer.transport.close()


async def test_rtcp_reports_exchange_stats_and_rtt(ports: PortAllocator) -> None:
    a, b = await pair(ports)
    await stream_through(a, b, [tone(n) for n in range(10)])
    a.send_rtcp()  # SR: a has sent
    await until(lambda: b._rx.lsr != 0)
    b.send_rtcp()  # RR with a block about a, LSR/DLSR echoing a's SR
    await until(lambda: a.stats["rtt"] is not None)
    stats = a.stats
    assert stats["remote_lost"] == 0 and stats["remote_fraction_lost"] == 0.0
    assert 0 <= stats["rtt"] < 1.0
    a.close()
    await until(lambda: b.remote_bye)
    b.close()


async def test_rtcp_sent_periodically(ports: PortAllocator) -> None:
    a, b = await pair(ports, rtcp_interval=0.05)
    await stream_through(a, b, [tone(n) for n in range(5)])
    await until(lambda: a.stats["remote_lost"] is not None and b._rx.lsr != 0)
    a.close()
    b.close()


async def test_open_skips_ports_in_use_and_reports_exhaustion() -> None:
    ports = PortAllocator(27500, 27505)
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind((HOST, 27501))  # the RTCP port of the first pair
    try:
        s = await RtpSession.open(HOST, ports)
        assert s.local_port == 27502
        s2 = await RtpSession.open(HOST, ports)
        assert s2.local_port == 27504
        with pytest.raises(PortsExhausted):
            await RtpSession.open(HOST, ports)
        s.close()
        s.close()  # idempotent
        s2.close()
        assert ports.in_use == 0
    finally:
        blocker.close()


async def test_receive_path_never_raises_on_garbage(ports: PortAllocator) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    b = await RtpSession.open(HOST, ports)
    b.set_remote(HOST, 9, "PCMA", 8, 101)
    addr = (HOST, 9)

    @settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.binary(max_size=64), st.sampled_from([0, 8, 13, 101, 127]), st.integers(0, 63))
    def feed(tail: bytes, pt: int, first_low: int) -> None:
        b._on_rtp(tail, addr)
        b._on_rtp(bytes([0x80 | first_low, pt]) + tail, addr)
        b._on_rtcp(tail, addr)
        b._on_rtcp(bytes([0x80 | (first_low & 0x3F), 200 + pt % 5]) + tail, addr)
        frame = b.read_frame()
        assert frame is None or (frame.dtype == np.int16 and frame.shape == (160,))

    feed()
    assert b.malformed > 0
    b.close()


async def srtp_pair(
    ports: PortAllocator, key_a: SrtpKey, key_b: SrtpKey
) -> tuple[RtpSession, RtpSession]:
    a, b = await pair(ports)
    a.srtp = SrtpContext(key_a, key_b)
    b.srtp = SrtpContext(key_b, key_a)
    return a, b


def keys() -> tuple[SrtpKey, SrtpKey]:
    suite = SrtpSuite.AES_CM_128_HMAC_SHA1_80
    return SrtpKey.generate(suite), SrtpKey.generate(suite)


async def test_srtp_frames_and_rtcp_arrive_decrypted(ports: PortAllocator) -> None:
    a, b = await srtp_pair(ports, *keys())
    frames = [tone(n) for n in range(6)]
    got = await stream_through(a, b, frames)
    assert np.array_equal(got[1], g711.ulaw_decode(g711.ulaw_encode(frames[0])))
    a.send_rtcp()  # SRTCP both ways, RTT measured from decrypted reports
    await until(lambda: b._rx.lsr != 0)
    b.send_rtcp()
    await until(lambda: a.stats["rtt"] is not None)
    assert a.srtp is not None and b.srtp is not None
    assert a.srtp.rejected == b.srtp.rejected == a.srtp.rejected_rtcp == 0
    a.close()
    await until(lambda: b.remote_bye)
    b.close()


async def test_srtp_session_drops_forged_replayed_and_plain_packets(
    ports: PortAllocator,
) -> None:
    key_a, key_b = keys()
    a, b = await srtp_pair(ports, key_a, key_b)
    peer = await RawPeer.open()
    context = b.srtp
    assert context is not None
    # what a genuine sender with a's key would send, from another socket
    genuine = SrtpContext(key_a, key_b).protect(ulaw_packet(500, tone(1)).to_bytes())
    forged = bytearray(genuine)
    forged[-1] ^= 0x01
    target = (HOST, b.local_port)
    peer.transport.sendto(ulaw_packet(1, tone(1)).to_bytes(), target)  # plain RTP
    peer.transport.sendto(bytes(forged), target)  # wrong auth tag
    await until(lambda: context.rejected == 2)
    assert b.packets_received == 0
    peer.transport.sendto(genuine, target)
    await until_received(b, 1)
    peer.transport.sendto(genuine, target)  # replayed
    await until(lambda: context.rejected == 3)
    assert b.packets_received == 1
    peer.transport.close()
    a.close()
    b.close()


async def test_an_address_of_the_other_family_is_refused_at_set_remote(ports) -> None:
    session = await RtpSession.open(HOST, ports)
    try:
        assert session.family == socket.AF_INET
        assert session.reaches("127.0.0.1") and session.reaches("::")  # :: is hold
        assert not session.reaches("::1") and not session.reaches("phone.example.com")
        with pytest.raises(ValueError, match="unreachable from an IPv4 RTP socket"):
            session.set_remote("::1", 4000, "PCMU", 0, None)
        assert session.remote is None
        session.set_remote("::", 4000, "PCMU", 0, None)  # hold, IPv6 style: accepted
        assert session.remote is None
    finally:
        session.close()


def test_a_failing_send_is_logged_once_and_counted(ports, caplog) -> None:
    # uvloop (what the switch runs on) raises ValueError("socket family mismatch") from
    # sendto to an address of the other family; the stdlib loop swallows it.
    uvloop = pytest.importorskip("uvloop")

    async def main() -> RtpSession:
        session = await RtpSession.open(HOST, ports)
        session.set_remote(HOST, 4000, "PCMU", 0, None)
        session._remote = ("::1", 4000)  # what a bad SDP address did before it was refused
        for n in range(50):
            session.write_frame(tone(n))
        session.close()
        return session

    with caplog.at_level(logging.DEBUG, logger="media.session"):
        session = uvloop.run(main())
    assert session.send_errors == 50 and session.packets_sent == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2  # the first failure with its traceback, the summary at close
    assert errors[0].exc_info is not None and "family mismatch" in caplog.text
    assert "50 packets" in errors[1].getMessage()


async def test_an_ipv6_session_talks_to_an_ipv6_peer(ports) -> None:
    session = await RtpSession.open("::1", ports)
    phone = await RawPeer.open("::1")
    try:
        assert session.family == socket.AF_INET6
        assert session.reaches("::1") and not session.reaches("127.0.0.1")
        with pytest.raises(ValueError, match="unreachable from an IPv6 RTP socket"):
            session.set_remote("127.0.0.1", 4000, "PCMU", 0, None)
        session.set_remote("::1", phone.port, "PCMU", 0, None)
        phone.send(session, ulaw_packet(1, tone(1)))
        await until_received(session, 1)
        assert session.remote is not None and session.remote[:2] == ("::1", phone.port)
        session.write_frame(tone(2))
        await until(lambda: len(phone.packets) == 1)
        assert phone.packets[0].ssrc == session.ssrc
    finally:
        phone.transport.close()
        session.close()


def _ipv4_free_pair() -> int:
    """An even port whose pair is free on IPv4 now (other runs on this machine hold
    ports of the shared ranges)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1] & ~1
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a:
                a.bind(("127.0.0.1", port))
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                    b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free IPv4 port pair")


async def test_an_ipv6_wildcard_session_leaves_ipv4_alone() -> None:
    # IPV6_V6ONLY: an IPv4 socket can still bind the same port, and takes its packets
    port = _ipv4_free_pair()
    session = await RtpSession.open("::", PortAllocator(port, port + 1))
    try:
        sock = session._rtp.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        for port in (session.local_port, session.local_port + 1):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                other.bind(("127.0.0.1", port))
    finally:
        session.close()


async def test_payloads_pass_through_undecoded_in_the_frames_own_stream(ports) -> None:
    """read_payload/write_payload: the bytes as they came (a bridge of one codec), with
    read_frame's jitter buffer and write_frame's numbering; other sizes fitted to 20 ms."""
    a = await RtpSession.open(HOST, ports)
    phone = await RawPeer.open()
    a.set_remote(HOST, phone.port, "PCMU", 0, 101)
    assert a.read_payload() is None  # nothing heard yet: idle
    assert a.silence == g711.ulaw_encode(np.zeros(160, dtype=np.int16))
    said = bytes([0x7F]) + bytes(range(0x80, 0x80 + 127)) + b"\x90" * 32  # 0x7F kept
    phone.send(a, RtpPacket(pt=0, seq=1, timestamp=160, ssrc=5, payload=said))
    phone.send(a, RtpPacket(pt=0, seq=2, timestamp=320, ssrc=5, payload=said[:80]))  # 10 ms
    phone.send(a, RtpPacket(pt=101, seq=3, timestamp=480, ssrc=5, payload=b"\x05\x0a\x00\xa0"))
    await until_received(a, 3)
    assert a.read_payload() == said
    short = a.read_payload()
    # decoded and re-encoded to fit: the same audio (0x7F, minus zero, comes back as 0xFF)
    assert short is not None and len(short) == 160 and short[1:80] == said[1:80]
    assert short[80:] == a.silence[80:]  # padded with silence
    assert a.read_payload() == a.silence  # the event's slot
    assert a.read_payload() is not None and a.concealed == 1  # lost: the 10 ms frame faded

    a.write_frame(tone(0))
    a.write_payload(said)
    a.write_frame(tone(1))
    await until(lambda: len(phone.packets) == 3)
    first, middle, last = phone.packets
    assert middle.payload == said and middle.pt == 0 and not middle.marker
    assert [(p.seq - first.seq) & 0xFFFF for p in phone.packets] == [0, 1, 2]
    assert [(p.timestamp - first.timestamp) & 0xFFFFFFFF for p in phone.packets] == [0, 160, 320]
    a.close()
    phone.transport.close()
