"""Conference room: real legs mixed each tick (each hears all but itself), mute, chimes,
leaving on hangup, a full room, the recording; the PIN lobby."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from media.clock import MediaClock
from media.ports import PortAllocator
from media.recorder import WavWriter
from media.wav import parse_wav
from softswitch.conference import JOIN_TONE, LEAVE_TONE, Room, RoomFull
from softswitch.conference_lobby import admitted
from tests.legs import Leg, Legs, info_digit, legs, until

PITCH = {"a": 400, "b": 700, "c": 1100}


@pytest.fixture
async def made() -> AsyncIterator[Legs]:
    async with legs(PortAllocator(33000, 33999)) as made:
        yield made


def pure(hz: int, n: int, amplitude: int = 6000) -> np.ndarray:
    t = np.arange(160) + 160 * n
    return (np.sin(2 * np.pi * hz * t / 8000) * amplitude).astype(np.int16)


async def mixed(room: Room, party: dict[str, Leg], ticks: int, speak: bool = True) -> dict:
    """Tick by tick (the jitter buffers hold 4 frames): each phone says its pitch (if
    ``speak``), the room mixes, each phone's received frame is kept; what each heard."""
    got: dict[str, list[np.ndarray]] = {k: [] for k in party}
    for n in range(ticks):
        sent = {k: leg.channel.rtp.packets_received for k, leg in party.items()}
        heard_before = {k: leg.phone.packets_received for k, leg in party.items()}
        if speak:
            for key, leg in party.items():
                leg.phone.write_frame(pure(PITCH[key], n))
            await until(
                lambda sent=sent: all(
                    leg.channel.rtp.packets_received > sent[k] for k, leg in party.items()
                )
            )
        room.tick(n)
        await until(
            lambda was=heard_before: all(
                leg.phone.packets_received > was[k] for k, leg in party.items()
            )
        )
        for key, leg in party.items():
            frame = leg.phone.read_frame()
            if frame is not None:
                got[key].append(frame)
    return {k: np.concatenate(v) if v else np.zeros(0, np.int16) for k, v in got.items()}


def level_at(audio: np.ndarray, hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float64)))
    freqs = np.fft.rfftfreq(len(audio), 1 / 8000)
    return float(spectrum[np.abs(freqs - hz) < 15].max() / (spectrum.sum() + 1e-9))


async def test_each_party_hears_the_two_others_and_not_itself(made: Legs) -> None:
    clock = MediaClock()
    room = Room("800", clock, max_participants=5)
    party = {k: await made.leg(n) for k, n in zip("abc", ("101", "102", "103"), strict=True)}
    for leg in party.values():
        room.join(leg.channel)
    assert len(clock) == 1 and len(room) == 3
    await mixed(room, party, len(JOIN_TONE), speak=False)  # the join chime plays out
    audio_of = await mixed(room, party, 25)
    for key, audio in audio_of.items():
        audio = audio[800:]  # past the jitter buffers' prefetch
        others = [k for k in party if k != key]
        for other in others:
            assert level_at(audio, PITCH[other]) > 0.05, (key, other)
        assert level_at(audio, PITCH[key]) < 0.01, key


async def test_a_muted_party_hears_but_is_not_heard(made: Legs) -> None:
    room = Room("800", MediaClock(), max_participants=5)
    party = {k: await made.leg(n) for k, n in zip("abc", ("101", "102", "103"), strict=True)}
    members = {k: room.join(leg.channel) for k, leg in party.items()}
    room.mute(members["c"])
    assert members["c"].muted
    await mixed(room, party, len(JOIN_TONE), speak=False)
    audio_of = await mixed(room, party, 25)
    at_a, at_c = audio_of["a"][800:], audio_of["c"][800:]
    assert level_at(at_a, PITCH["c"]) < 0.01 and level_at(at_a, PITCH["b"]) > 0.05
    assert level_at(at_c, PITCH["a"]) > 0.05 and level_at(at_c, PITCH["b"]) > 0.05


async def test_join_and_leave_chime_and_the_last_to_leave_closes_the_room(
    made: Legs, tmp_path: Path
) -> None:
    clock = MediaClock()
    emptied: list[Room] = []
    recording = WavWriter(tmp_path / "room.wav")
    room = Room("800", clock, max_participants=2, recording=recording, on_empty=emptied.append)
    a, b = await made.leg("101"), await made.leg("102")
    first = room.join(a.channel)
    room.join(b.channel)
    with pytest.raises(RoomFull):
        room.join((await made.leg("103")).channel)
    chime = (await mixed(room, {"a": a, "b": b}, len(JOIN_TONE), speak=False))["a"]
    assert level_at(chime, 600) > 0.05 and level_at(chime, 900) > 0.05  # silent room + chime
    b.channel.failed("hung up", 0)  # the BYE's effect on the channel
    assert len(room) == 1 and room.participant(first.id) is first
    for n in range(len(LEAVE_TONE)):
        room.tick(n)
    room.leave(first)
    assert emptied == [room] and room.closed and len(clock) == 0 and recording.closed
    samples, rate = parse_wav((tmp_path / "room.wav").read_bytes())
    assert rate == 8000 and len(samples) == 160 * (len(JOIN_TONE) + len(LEAVE_TONE))
    assert level_at(samples, 600) > 0.05  # the chimes are in the room's mix
    with pytest.raises(RoomFull):
        room.join(a.channel)


async def test_the_pin_lets_in_on_a_right_try_and_refuses_after_three_wrong(
    made: Legs,
) -> None:
    clock = MediaClock()
    clock.start()
    try:
        leg = await made.leg("101")
        assert await admitted(leg.channel, "", clock)
        asking = asyncio.ensure_future(admitted(leg.channel, "42", clock))
        await until(lambda: leg.channel.session.on_info_digit is not None)
        for digit in "19#42":  # a wrong try ended by #, then the right one
            await asyncio.sleep(0.05)
            info_digit(leg.channel, digit)
        assert await asyncio.wait_for(asking, 5)
        assert leg.channel.session.on_info_digit is None  # the lobby let go of the keys

        asking = asyncio.ensure_future(admitted(leg.channel, "42", clock))
        for attempt in range(3):
            await until(lambda: leg.channel.session.on_info_digit is not None)
            info_digit(leg.channel, "1")
            info_digit(leg.channel, "3")
            await asyncio.sleep(0.05 if attempt < 2 else 0)
            await asyncio.sleep(0.7)  # the wrong-PIN tone plays out
        assert not await asyncio.wait_for(asking, 5)
    finally:
        clock.stop()


async def test_a_tick_allocates_no_more_than_the_decoded_frames(made: Legs) -> None:
    import tracemalloc

    room = Room("800", MediaClock(), max_participants=10)
    party = [await made.leg(str(101 + i)) for i in range(10)]
    for leg in party:
        room.join(leg.channel)
    room._tone = None  # the chime plays from a preallocated table; leave it out here
    for n in range(3):
        room.tick(n)
    tracemalloc.start()
    try:
        for n in range(20):
            room.tick(n)  # nobody speaks: no decoded frames either
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3000, peak  # a 10-party int32 matrix alone is 6,400 bytes


async def test_a_wideband_party_turns_the_mix_to_16khz_and_back(made: Legs) -> None:
    room = Room("800", MediaClock(), max_participants=5)
    party = {"a": await made.leg("101"), "b": await made.leg("102", codecs=("G722",))}
    members = {k: room.join(leg.channel) for k, leg in party.items()}
    assert room.width == 320 and room.mixer.frame == 320
    await mixed(room, party, len(JOIN_TONE), speak=False)
    audio_of = await mixed(room, party, 25)
    wide, narrow = audio_of["b"][1600:], audio_of["a"][800:]
    # the G.722 phone hears the G.711 one's pitch (upsampled into the 16 kHz mix) ...
    spectrum = np.abs(np.fft.rfft(wide.astype(np.float64)))
    freqs = np.fft.rfftfreq(len(wide), 1 / 16000)
    assert abs(freqs[np.argmax(spectrum)] - PITCH["a"]) < 20
    # ... and the G.711 phone the G.722 one's (downsampled by its session)
    assert level_at(narrow, PITCH["b"]) > 0.05
    room.leave(members["b"])
    assert room.width == 160 and room.mixer.frame == 160


async def test_a_room_a_wideband_phone_opens_records_at_16khz_to_the_end(
    made: Legs, tmp_path: Path
) -> None:
    recording = WavWriter(tmp_path / "wide.wav")
    room = Room("800", MediaClock(), max_participants=5, recording=recording)
    party = {"b": await made.leg("102", codecs=("G722",)), "a": await made.leg("101")}
    members = {k: room.join(leg.channel) for k, leg in party.items()}
    assert recording.rate == 16000
    wide_ticks = len(JOIN_TONE) + 25
    await mixed(room, party, len(JOIN_TONE), speak=False)
    await mixed(room, party, 25)
    room.leave(members["b"])  # the room mixes at 8 kHz now: upsampled into the file
    assert room.width == 160
    await mixed(room, {"a": party["a"]}, 25)
    room.close()
    samples, rate = parse_wav((tmp_path / "wide.wav").read_bytes())
    assert rate == 16000 and len(samples) == 320 * (wide_ticks + 25)
    spectrum = np.abs(np.fft.rfft(samples[-320 * 20 :].astype(np.float64)))
    freqs = np.fft.rfftfreq(320 * 20, 1 / 16000)
    assert abs(freqs[np.argmax(spectrum)] - PITCH["a"]) < 20  # the 8 kHz mix, upsampled


async def test_a_room_a_g711_phone_opens_records_at_8khz(made: Legs, tmp_path: Path) -> None:
    recording = WavWriter(tmp_path / "narrow.wav")
    room = Room("800", MediaClock(), max_participants=5, recording=recording)
    party = {"a": await made.leg("101"), "b": await made.leg("102", codecs=("G722",))}
    room.join(party["a"].channel)
    room.tick(0)  # the recording has started: its rate is set
    room.join(party["b"].channel)
    assert room.width == 320 and recording.rate == 8000  # the mix is downsampled for it
    await mixed(room, party, 10, speak=False)
    room.close()
    samples, rate = parse_wav((tmp_path / "narrow.wav").read_bytes())
    assert rate == 8000 and len(samples) == 160 * 11
