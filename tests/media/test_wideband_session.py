"""RtpSession with a wideband codec on real sockets: 16 kHz frames, timestamps at the
codec's clock, frames of the other rate converted on write, Opus FEC on a lost packet."""

import asyncio

import numpy as np
import pytest

from media.codecs import coder
from media.ports import PortAllocator
from media.rtp import RtpPacket
from media.session import RtpSession

HOST = "127.0.0.1"


@pytest.fixture
def ports() -> PortAllocator:
    return PortAllocator(28000, 28999)


class Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []
        self.transport: asyncio.DatagramTransport | None = None

    def datagram_received(self, data: bytes, addr) -> None:
        self.packets.append(RtpPacket.parse(data))

    @classmethod
    async def open(cls) -> "Sink":
        sink = cls()
        loop = asyncio.get_running_loop()
        sink.transport, _ = await loop.create_datagram_endpoint(lambda: sink, local_addr=(HOST, 0))
        return sink

    @property
    def port(self) -> int:
        return self.transport.get_extra_info("sockname")[1]


def sine(hz: float, rate: int, frames: int, amplitude: int = 8000) -> list[np.ndarray]:
    size = rate // 50
    t = np.arange(size * frames) / rate
    wave = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return [wave[i * size : (i + 1) * size] for i in range(frames)]


async def until(predicate, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.002)


@pytest.mark.parametrize(("codec", "pt", "step"), [("G722", 9, 160), ("opus", 111, 960)])
async def test_timestamps_advance_at_the_codec_clock(ports, codec, pt, step) -> None:
    sink = await Sink.open()
    session = await RtpSession.open(HOST, ports)
    session.set_remote(HOST, sink.port, codec, pt, None)
    assert session.rate == 16000
    for frame in sine(1000, 16000, 3):
        session.write_frame(frame)
        await asyncio.sleep(0.02)
    await until(lambda: len(sink.packets) == 3)
    stamps = [p.timestamp for p in sink.packets]
    assert [b - a for a, b in zip(stamps, stamps[1:], strict=False)] == [step, step]
    assert {p.pt for p in sink.packets} == {pt}
    session.close()
    sink.transport.close()


async def test_8khz_frames_written_to_a_g722_leg_are_upsampled(ports) -> None:
    a = await RtpSession.open(HOST, ports)
    b = await RtpSession.open(HOST, ports)
    a.set_remote(HOST, b.local_port, "G722", 9, None)
    b.set_remote(HOST, a.local_port, "G722", 9, None)
    heard = []
    for frame in sine(1000, 8000, 12):  # a prompt or a G.711 leg's frames
        target = b.packets_received + 1
        a.write_frame(frame)
        await until(lambda: b.packets_received >= target)  # noqa: B023
        got = b.read_frame()
        if got is not None:
            heard.append(got)
    assert all(frame.shape == (320,) for frame in heard)
    tail = np.concatenate(heard[4:]).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(tail * np.hanning(len(tail))))
    assert abs(np.argmax(spectrum) * 16000 / len(tail) - 1000) < 60
    assert b.narrow(heard[-1]).shape == (160,)  # for an 8 kHz listener
    a.close()
    b.close()


async def test_16khz_frames_written_to_a_pcmu_leg_are_downsampled(ports) -> None:
    sink = await Sink.open()
    session = await RtpSession.open(HOST, ports)
    session.set_remote(HOST, sink.port, "PCMU", 0, None)
    for frame in sine(1000, 16000, 2):
        session.write_frame(frame)
        await asyncio.sleep(0.02)
    await until(lambda: len(sink.packets) == 2)
    assert [len(p.payload) for p in sink.packets] == [160, 160]
    assert session.wide(np.zeros(160, dtype=np.int16)).shape == (320,)
    session.close()
    sink.transport.close()


async def test_a_lost_opus_packet_is_rebuilt_from_the_next_ones_fec(ports) -> None:
    session = await RtpSession.open(HOST, ports)
    sender = await Sink.open()  # a bare socket playing the phone
    session.set_remote(HOST, sender.port, "opus", 111, None)
    encoder = coder("opus")
    frames = sine(800, 16000, 12)
    packets = [encoder.encode(frame) for frame in frames]
    heard = []
    received = 0
    for seq in range(12):  # one packet per tick, read as the media clock would
        if seq != 8:  # packet 8 is lost on the way
            packet = RtpPacket(pt=111, seq=seq, timestamp=seq * 960, ssrc=5, payload=packets[seq])
            sender.transport.sendto(packet.to_bytes(), (HOST, session.local_port))
            received += 1
            await until(lambda: session.packets_received == received)  # noqa: B023
        heard.append(session.read_frame())
    # playout runs one frame behind arrival (prefetch): frame 8 is due when 9 is here
    assert session.recovered == 1 and session.concealed == 1
    rebuilt = heard[9]
    # the tone itself: concealment would repeat the last frame at half its amplitude
    assert rebuilt is not None and np.abs(rebuilt).max() > 6000
    session.close()
    sender.transport.close()
