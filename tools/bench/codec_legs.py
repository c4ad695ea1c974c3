"""CPU per call of wideband legs: an Opus or G.722 phone bridged to a G.711 trunk leg
(decode, resample 16<->8 kHz, encode, both ways) against a PCMU<->PCMU call, in one run.

Each call is two switch legs (RtpSessions) bridged as `softswitch.bridge.Bridge.tick`
does it (read_frame from one leg, write_frame to the other), each leg talking to a
phone session on loopback that replays pre-encoded 20 ms packets of noise-like speech
in its codec (the phones' work is not what is measured). The figure is the CPU time
(time.process_time) of the bridges' ticks, per call and per second of call: what one
call of each kind costs the switch's media path, all scenarios under the same load.

Scenarios: pcmu-pcmu (decode/encode, as with a recorder; and pass-through), g722-pcmu
and opus-pcmu (a wideband phone to a trunk: transcoding and resampling), g722-g722 and
opus-opus decoded (a recorded wideband call; unrecorded they pass through like PCMU).

Run: .venv/bin/python tools/bench/codec_legs.py [--calls 50] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

import numpy as np

from media.clock import MediaClock
from media.codecs import coder, spec
from media.pcm import SILENCE
from media.ports import PortAllocator
from media.session import RtpSession

HOST = "127.0.0.1"
PT = {"PCMU": 0, "G722": 9, "OPUS": 111}
SCENARIOS: list[tuple[str, str, str, bool]] = [
    # name, phone A's codec, phone B's codec (the trunk's in the transcoding ones), relay
    ("pcmu-pcmu relay", "PCMU", "PCMU", True),
    ("pcmu-pcmu", "PCMU", "PCMU", False),
    ("g722-pcmu", "G722", "PCMU", False),
    ("opus-pcmu", "OPUS", "PCMU", False),
    ("g722-g722 relay", "G722", "G722", True),
    ("g722-g722", "G722", "G722", False),
    ("opus-opus relay", "OPUS", "OPUS", True),
    ("opus-opus", "OPUS", "OPUS", False),
]


def speech_packets(codec: str, count: int = 50) -> list[bytes]:
    """A second of a phone's packets: band-limited noise at speech level, encoded."""
    codec_spec = spec(codec)
    rng = np.random.default_rng(7)
    encoder = coder(codec)
    packets = []
    for _ in range(count):
        noise = rng.standard_normal(codec_spec.frame) * 3000
        smooth = np.convolve(noise, np.ones(3) / 3, mode="same").astype(np.int16)
        packets.append(encoder.encode(smooth))
    return packets


async def pair(ports: PortAllocator, codec: str) -> tuple[RtpSession, RtpSession]:
    """(the switch's leg, the phone at its far end)."""
    leg = await RtpSession.open(HOST, ports)
    phone = await RtpSession.open(HOST, ports)
    leg.set_remote(HOST, phone.local_port, codec, PT[codec], 101)
    phone.set_remote(HOST, leg.local_port, codec, PT[codec], 101)
    return leg, phone


async def scenario(
    codec_a: str, codec_b: str, relay: bool, calls: int, seconds: float, first_port: int
) -> float:
    """CPU microseconds of the bridge ticks per call per second of call."""
    ports = PortAllocator(first_port, first_port + 8 * calls + 64)
    bridges: list[tuple[RtpSession, RtpSession]] = []
    phones: list[tuple[RtpSession, list[bytes]]] = []
    said = {codec: speech_packets(codec) for codec in {codec_a, codec_b}}
    for _ in range(calls):
        leg_a, phone_a = await pair(ports, codec_a)
        leg_b, phone_b = await pair(ports, codec_b)
        bridges.append((leg_a, leg_b))
        phones += [(phone_a, said[codec_a]), (phone_b, said[codec_b])]

    def speak(tick_no: int) -> None:
        for phone, packets in phones:
            phone.read_payload()  # what the switch sent: drained, not decoded
            phone.write_payload(packets[tick_no % len(packets)])

    spent = [0.0]

    def decoding_tick(_tick_no: int) -> None:
        start = time.process_time()
        for a, b in bridges:
            a_said = a.read_frame()
            b_said = b.read_frame()
            b.write_frame(SILENCE if a_said is None else a_said)
            a.write_frame(SILENCE if b_said is None else b_said)
        spent[0] += time.process_time() - start

    def relay_tick(_tick_no: int) -> None:
        start = time.process_time()
        for a, b in bridges:
            a_said = a.read_payload()
            b_said = b.read_payload()
            b.write_payload(b.silence if a_said is None else a_said)
            a.write_payload(a.silence if b_said is None else b_said)
        spent[0] += time.process_time() - start

    tick: Callable[[int], None] = relay_tick if relay else decoding_tick
    clock = MediaClock()
    clock.add(speak)
    clock.add(tick)
    clock.start()
    await asyncio.sleep(1.0)  # jitter buffers filled, codecs warmed up
    spent[0] = 0.0
    await asyncio.sleep(seconds)
    clock.stop()
    measured = spent[0]
    for a, b in bridges:
        a.close()
        b.close()
    for phone, _ in phones:
        phone.close()
    return 1e6 * measured / (calls * seconds)


async def main(calls: int, seconds: float, first_port: int) -> None:
    print(f"{calls} calls per scenario, {seconds:.0f} s each; CPU of the bridge ticks")
    figures: dict[str, float] = {}
    for index, (name, codec_a, codec_b, relay) in enumerate(SCENARIOS):
        ports_from = first_port + index * (8 * calls + 64)  # closed sockets linger a moment
        figures[name] = await scenario(codec_a, codec_b, relay, calls, seconds, ports_from)
    base = figures["pcmu-pcmu"]
    print(f"{'scenario':<18}{'us CPU / call / s':>18}{'% of a core / call':>20}{'x pcmu':>8}")
    for name, cpu in figures.items():
        print(f"{name:<18}{cpu:>18.0f}{cpu / 1e4:>19.3f}%{cpu / base:>8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--first-port", type=int, default=30000)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.seconds, args.first_port))
