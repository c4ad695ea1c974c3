"""Bridge: two legs' media crossed each tick, digits relayed, a tap, taking it apart."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

from media import g711
from media.clock import MediaClock
from media.moh import MohSource, MusicOnHold
from media.ports import PortAllocator
from media.rtp import HEADER
from media.session import RtpSession
from media.tones import hold_music
from softswitch.bridge import Bridge
from softswitch.channel import Channel
from softswitch.sip import sdp
from softswitch.switch import Switch
from tests.legs import Leg, Legs, legs, tone, until
from tests.switch_harness import switch_config


@pytest.fixture
async def made() -> AsyncIterator[Legs]:
    async with legs(PortAllocator(31000, 31999)) as made:
        yield made


async def test_what_each_phone_says_the_other_hears_and_the_tap_sees_both(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    clock = MediaClock()  # not started: the test is the clock
    bridge = Bridge(a.channel, b.channel, clock)
    heard: list[tuple[np.ndarray | None, np.ndarray | None]] = []
    bridge.tap = lambda a_said, b_said: heard.append((a_said, b_said))
    bridge.start()
    assert len(clock) == 1
    assert a.channel.bridged is b.channel and b.channel.bridged is a.channel
    assert a.channel.bridge is bridge and b.channel.bridge is bridge

    for n in range(3):
        a.phone.write_frame(tone(n))
        b.phone.write_frame(tone(n + 10))
    await until(lambda: a.channel.rtp.packets_received == 3 and b.channel.rtp.packets_received == 3)
    for n in range(3):
        bridge.tick(n)
    await until(lambda: a.phone.packets_received == 3 and b.phone.packets_received == 3)

    # G.711 is lossy: compare what crossed with what the phones said, within its error
    for n in range(3):
        at_b, at_a = b.phone.read_frame(), a.phone.read_frame()
        assert at_b is not None and np.abs(at_b - tone(n)).max() < 500
        assert at_a is not None and np.abs(at_a - tone(n + 10)).max() < 500
        a_said, b_said = heard[n]
        assert a_said is not None and np.abs(a_said - tone(n)).max() < 500
        assert b_said is not None and np.abs(b_said - tone(n + 10)).max() < 500


async def test_a_silent_leg_sends_silence_and_the_tap_sees_none(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    bridge = Bridge(a.channel, b.channel, MediaClock())
    heard: list[tuple[object, object]] = []
    bridge.tap = lambda a_said, b_said: heard.append((a_said, b_said))
    bridge.start()
    for n in range(3):
        bridge.tick(n)
    assert heard == [(None, None)] * 3
    await until(lambda: a.phone.packets_received == 3 and b.phone.packets_received == 3)
    frames = [b.phone.read_frame() for _ in range(3)]
    assert any(f is not None for f in frames)
    assert all(not f.any() for f in frames if f is not None)


async def test_digits_are_relayed_as_events_and_kept_per_party(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    bridge = Bridge(a.channel, b.channel, MediaClock())
    bridge.start()
    got_b: list[str] = []
    got_a: list[str] = []
    b.phone.on_dtmf = got_b.append
    a.phone.on_dtmf = got_a.append
    a.phone.send_dtmf("5")
    await until(lambda: got_b == ["5"])  # the event, not the tone, crossed the bridge
    b.phone.send_dtmf("#")
    await until(lambda: got_a == ["#"])
    assert a.channel.dtmf_inputs == ["5"] and b.channel.dtmf_inputs == ["#"]


async def test_stop_takes_the_legs_out_and_detach_marks_a_rearrangement(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    clock = MediaClock()
    bridge = Bridge(a.channel, b.channel, clock)
    bridge.start()
    bridge.start()  # idempotent
    assert len(clock) == 1
    assert bridge.other(a.channel) is b.channel and bridge.other(b.channel) is a.channel
    bridge.stop(detach=True)
    assert not bridge.active and bridge.detached and len(clock) == 0
    for leg in (a, b):
        assert leg.channel.bridge is None and leg.channel.bridged is None
        assert leg.channel.rtp.on_dtmf is None and leg.channel.session.on_info_digit is None
    bridge.stop()  # idempotent


async def test_switch_bridge_starts_one_on_its_clock_with_the_tap(made: Legs, tmp_path) -> None:
    switch = Switch(switch_config(tmp_path, 0, 32000))
    try:
        a, b = await made.leg("101"), await made.leg("102")
        tap = lambda a_said, b_said: None  # noqa: E731
        bridge = switch.bridge(a.channel, b.channel, tap=tap)
        assert bridge.active and bridge.clock is switch.clock and bridge.tap is tap
        assert len(switch.clock) == 1 and a.channel.bridge is bridge
        assert switch.bridge(a.channel, b.channel).tap is None
    finally:
        switch.store.close()


def reoffer(port: int, channel: Channel, direction: str, address: str = "127.0.0.1") -> None:
    """The phone of ``channel`` sends a re-INVITE offering ``direction`` (hold/resume)."""
    offer = sdp.make_offer(address, port, session_id=7, version=2, direction=direction)
    assert channel.session.on_reoffer is not None
    channel.session.on_reoffer(offer.to_bytes())


async def bridged_with_music(made: Legs) -> tuple[Leg, Leg, MediaClock, MohSource, Bridge]:
    """101 and 102 in a started bridge whose holds play the shared music on hold; the
    clock is not started: the test is the clock."""
    a, b = await made.leg("101"), await made.leg("102")
    clock = MediaClock()
    moh = MohSource(MusicOnHold(hold_music()), clock)
    bridge = Bridge(a.channel, b.channel, clock, moh)
    bridge.start()
    return a, b, clock, moh, bridge


@pytest.mark.parametrize(
    ("direction", "address"),
    [("sendonly", "127.0.0.1"), ("inactive", "127.0.0.1"), ("sendrecv", "0.0.0.0")],
)
async def test_hold_gives_the_other_party_music_and_resume_gives_back_the_voice(
    made: Legs, direction: str, address: str
) -> None:
    a, b, clock, moh, bridge = await bridged_with_music(made)
    assert clock._snapshot == (bridge.relay_tick,)
    reoffer(a.phone.local_port, a.channel, direction, address)
    assert a.channel.holding and not b.channel.holding
    # the bridge stops ticking; b listens to the shared music, a gets nothing
    assert clock._snapshot == (moh.tick,) and b.channel.rtp in moh and len(moh) == 1

    for n in range(5):
        moh.tick(n)
    await until(lambda: b.phone.packets_received == 5)
    heard = [b.phone.read_frame() for _ in range(5)]
    # the music, frame after frame (the phone's jitter buffer may shift them by one)
    music = [
        k
        for frame in heard
        if frame is not None
        for k in range(5)
        if np.abs(frame - moh.music.frame(k)).max() < 500
    ]
    assert len(music) >= 3 and music == sorted(music)
    assert a.phone.packets_received == 0

    reoffer(a.phone.local_port, a.channel, "sendrecv")
    assert not a.channel.holding and len(moh) == 0
    assert clock._snapshot == (bridge.relay_tick,)
    before = a.channel.rtp.packets_received
    for _ in range(3):
        a.phone.write_frame(tone(3))
    await until(lambda: a.channel.rtp.packets_received == before + 3)
    for n in range(5, 11):
        bridge.tick(n)
    await until(lambda: b.phone.packets_received == 11)
    voice = [b.phone.read_frame() for _ in range(6)]
    assert any(f is not None and np.abs(f - tone(3)).max() < 500 for f in voice)
    bridge.stop()
    assert len(clock) == 0


async def test_a_recorded_call_on_hold_keeps_ticking_and_the_recorder_hears_both(
    made: Legs,
) -> None:
    a, b, clock, moh, bridge = await bridged_with_music(made)
    reoffer(b.phone.local_port, b.channel, "sendonly")
    assert clock._snapshot == (moh.tick,)
    heard: list[tuple[object, object]] = []
    bridge.tap = lambda a_said, b_said: heard.append((a_said, b_said))  # recording starts
    assert clock._snapshot == (bridge.held_tick,) and len(moh) == 0
    for _ in range(3):  # the holder may go on talking; the recording has it
        b.phone.write_frame(tone(4))
    await until(lambda: b.channel.rtp.packets_received == 3)
    for n in range(4):
        bridge.held_tick(n)
    assert len(heard) == 4 and any(said is not None for _, said in heard)
    await until(lambda: a.phone.packets_received == 4)
    frames = [a.phone.read_frame() for _ in range(4)]
    assert any(
        f is not None and np.abs(f - moh.music.frame(k)).max() < 500
        for f in frames
        for k in range(4)
    )
    bridge.stop()
    assert len(clock) == 0 and len(moh) == 0


# -- pass-through (payloads relayed undecoded) -----------------------------------------


def heard_packets(phone: RtpSession) -> list[tuple[int, int, int, int, bytes]]:
    """(marker|pt, seq, timestamp, ssrc, payload) of each RTP packet ``phone`` gets from now
    on, recorded at its socket before it plays them."""
    packets: list[tuple[int, int, int, int, bytes]] = []
    protocol = phone._rtp.get_protocol()  # type: ignore[union-attr]
    received = protocol.datagram_received

    def record(data: bytes, addr: tuple[str | int, ...]) -> None:
        _, second, seq, ts, ssrc = HEADER.unpack_from(data)
        packets.append((second, seq, ts, ssrc, data[12:]))
        received(data, addr)

    protocol.datagram_received = record
    return packets


def run_ticks(clock: MediaClock, first: int, count: int) -> None:
    """What the clock would do for ``count`` ticks: call what is on it now."""
    for n in range(first, first + count):
        for callback in clock._snapshot:
            callback(n)


def said(n: int) -> bytes:
    """A distinct u-law payload per n, with 0x7F (decoding and re-encoding makes it 0xFF)."""
    return bytes([0x7F, n]) + (bytes(range(0x80, 0xFF)) * 2)[:158]


async def feed(leg: Leg, payload: bytes) -> None:
    """``leg``'s phone says ``payload`` and the channel has it in its jitter buffer."""
    before = leg.channel.rtp.packets_received
    leg.phone.write_payload(payload)
    await until(lambda: leg.channel.rtp.packets_received == before + 1)


def continuous(packets: list[tuple[int, int, int, int, bytes]], ssrc: int) -> None:
    """One stream: the leg's SSRC, sequence numbers +1 and timestamps +160 per packet,
    the marker on the first packet only."""
    assert all(p[3] == ssrc for p in packets)
    assert [(p[1] - packets[0][1]) & 0xFFFF for p in packets] == list(range(len(packets)))
    assert [(p[2] - packets[0][2]) & 0xFFFFFFFF for p in packets] == [
        160 * k for k in range(len(packets))
    ]
    assert [p[0] & 0x80 for p in packets[1:]] == [0] * (len(packets) - 1)


async def test_without_a_tap_payloads_cross_undecoded_in_each_legs_own_stream(
    made: Legs,
) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    clock = MediaClock()
    bridge = Bridge(a.channel, b.channel, clock)
    bridge.start()
    assert clock._snapshot == (bridge.relay_tick,)
    at_b = heard_packets(b.phone)
    run_ticks(clock, 0, 1)  # a silent yet: b hears silence
    await feed(a, said(0))
    await feed(a, said(1))  # the jitter buffer's prefetch: it plays from the second frame
    run_ticks(clock, 1, 1)
    for n in range(2, 5):
        await feed(a, said(n))
        run_ticks(clock, n, 1)
    run_ticks(clock, 5, 1)
    await until(lambda: len(at_b) == 6)
    # byte for byte what a said (0x7F kept), after the silence of the first tick
    assert [p[4] for p in at_b] == [b"\xff" * 160] + [said(n) for n in range(5)]
    continuous(at_b, b.channel.rtp.ssrc)
    assert at_b[0][0] & 0x7F == 0  # b's PCMU payload type


async def test_recording_started_mid_call_decodes_from_the_next_tick_in_the_same_stream(
    made: Legs,
) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    clock = MediaClock()
    bridge = Bridge(a.channel, b.channel, clock)
    bridge.start()
    at_b = heard_packets(b.phone)
    heard: list[tuple[np.ndarray | None, np.ndarray | None]] = []
    await feed(a, g711.ulaw_encode(tone(0)))
    for n in range(1, 6):
        await feed(a, g711.ulaw_encode(tone(n)))
        if n == 4:  # recording starts after three ticks passed through
            bridge.tap = lambda a_said, b_said: heard.append((a_said, b_said))
            assert clock._snapshot == (bridge.tick,)
        run_ticks(clock, n, 1)
    run_ticks(clock, 6, 1)
    bridge.tap = None
    assert clock._snapshot == (bridge.relay_tick,)
    await until(lambda: len(at_b) == 6)
    continuous(at_b, b.channel.rtp.ssrc)
    # the recorder heard a's frames 3-5; b heard frames 0-5 in order either way
    assert len(heard) == 3
    for k, (frame, _) in enumerate(heard):
        assert frame is not None and np.abs(frame - tone(3 + k)).max() < 500
    for n, packet in enumerate(at_b):
        assert np.abs(g711.ulaw_decode(packet[4]) - tone(n)).max() < 500


async def test_a_lost_frame_is_concealed_from_the_passed_through_audio(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    clock = MediaClock()
    bridge = Bridge(a.channel, b.channel, clock)
    bridge.start()
    at_b = heard_packets(b.phone)
    frames = {n: g711.ulaw_encode(tone(n)) for n in range(5)}
    await feed(a, frames[0])
    await feed(a, frames[1])
    run_ticks(clock, 0, 1)
    a.phone._seq += 1  # frame 2 lost on the way
    await feed(a, frames[3])
    run_ticks(clock, 1, 2)  # frame 1, then the gap
    await feed(a, frames[4])
    run_ticks(clock, 3, 2)
    await until(lambda: len(at_b) == 5)
    assert a.channel.rtp.concealed == 1
    payloads = [p[4] for p in at_b]
    assert payloads[:2] == [frames[0], frames[1]] and payloads[3:] == [frames[3], frames[4]]
    # the gap: frame 1 at -6 dB, in the same stream
    assert np.abs(g711.ulaw_decode(payloads[2]) - (tone(1) >> 1)).max() < 300
    continuous(at_b, b.channel.rtp.ssrc)


async def test_legs_of_different_codecs_are_transcoded_and_passthrough_false_always_decodes(
    made: Legs,
) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    # a re-INVITE moved a's call to PCMA
    a.channel.rtp.set_remote("127.0.0.1", a.phone.local_port, "PCMA", 8, 101)
    a.phone.set_remote("127.0.0.1", a.channel.rtp.local_port, "PCMA", 8, 101)
    clock = MediaClock()
    bridge = Bridge(a.channel, b.channel, clock)
    bridge.start()
    at_b = heard_packets(b.phone)
    await feed(a, g711.alaw_encode(tone(0)))
    for n in range(1, 3):
        await feed(a, g711.alaw_encode(tone(n)))
        run_ticks(clock, n, 1)
    run_ticks(clock, 3, 1)
    await until(lambda: len(at_b) == 3)
    for n, packet in enumerate(at_b):
        assert packet[0] & 0x7F == 0  # PCMU at b
        assert np.abs(g711.ulaw_decode(packet[4]) - tone(n)).max() < 500
    bridge.stop()

    decoding = Bridge(a.channel, b.channel, clock, passthrough=False)
    decoding.start()
    assert clock._snapshot == (decoding.tick,)
    decoding.stop()


async def test_a_g722_leg_and_a_pcmu_leg_cross_rates_and_the_tap_sees_each_rate(made: Legs) -> None:
    a, b = await made.leg("101", codecs=("G722",)), await made.leg("102")
    assert (a.channel.rtp.rate, b.channel.rtp.rate) == (16000, 8000)
    bridge = Bridge(a.channel, b.channel, MediaClock())
    heard: list[tuple[np.ndarray | None, np.ndarray | None]] = []
    bridge.tap = lambda a_said, b_said: heard.append((a_said, b_said))
    bridge.start()
    ticks = 12
    at_a: list[np.ndarray | None] = []
    at_b: list[np.ndarray | None] = []
    for n in range(ticks):  # one tick at a time, as the media clock runs them
        a.phone.write_frame(tone(n))  # 8 kHz frames: the G.722 phone upsamples them
        b.phone.write_frame(tone(n + 10))
        await until(
            lambda n=n: a.channel.rtp.packets_received > n and b.channel.rtp.packets_received > n
        )
        bridge.tick(n)
        await until(lambda n=n: a.phone.packets_received > n and b.phone.packets_received > n)
        at_a.append(a.phone.read_frame())
        at_b.append(b.phone.read_frame())
    assert {f.shape for f in at_a if f is not None} == {(320,)}  # wideband at the G.722 phone
    assert {f.shape for f in at_b if f is not None} == {(160,)}
    assert all(f.any() for f in at_a[4:] if f is not None)
    assert all(f.any() for f in at_b[4:] if f is not None)
    # the recorder is given each leg's frames as read: it resamples to its file's rate
    assert {a_said.shape for a_said, _ in heard if a_said is not None} == {(320,)}
    assert {b_said.shape for _, b_said in heard if b_said is not None} == {(160,)}


async def test_g722_legs_pass_their_payloads_through(made: Legs) -> None:
    a, b = await made.leg("101", codecs=("G722",)), await made.leg("102", codecs=("G722",))
    bridge = Bridge(a.channel, b.channel, MediaClock())
    bridge.start()
    assert bridge._ticking == bridge.relay_tick
    for n in range(3):
        a.phone.write_frame(tone(n))
    await until(lambda: a.channel.rtp.packets_received == 3)
    for n in range(3):
        bridge.relay_tick(n)
    await until(lambda: b.phone.packets_received >= 2)
    assert b.channel.rtp.octets_sent == 160 * b.channel.rtp.packets_sent  # G.722 payloads
