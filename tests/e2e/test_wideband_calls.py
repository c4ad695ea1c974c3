"""Wideband phones (baresip offering only G.722 or only Opus) through the switch with
`[media] codecs` naming them: a 6 kHz tone, which G.711's 8 kHz sampling cannot carry,
crosses G.722<->G.722, Opus<->Opus and G.722<->Opus calls (the path stays 16 kHz) and
is gone toward a G.711 phone, which still hears a 1 kHz tone both ways (transcoded);
three wideband phones in a conference hear one another's 6 kHz tone (and the room's
recording, 16 kHz, holds it); digits cross an
Opus<->PCMU call both ways; a wideband phone on hold hears the (8 kHz) music."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from media.tones import HOLD_MUSIC_HZ
from tests.peers.audio import band_energy_ratio, dominant_frequency, make_tone_wav, read_wav, rms
from tests.peers.baresip import Baresip, BaresipAccount

pytestmark = pytest.mark.peers

WIDEBAND = ["opus", "g722", "pcmu", "pcma"]
HIGH = 6000.0  # above G.711's 4 kHz band edge
LOW = 1000.0


@pytest.fixture
def switch(switch_factory):
    return switch_factory(
        extensions={n: f"pw{n}" for n in ("101", "102", "103")},
        media={"codecs": WIDEBAND},
        conferences=[{"number": "800", "record": True}],
    )


# baresip's account parameter names a codec by its audio rate (not its RTP clock), and
# its aufile source must be at that rate
BARESIP_CODECS = {"G722": "G722/16000/1", "opus": "opus/48000/2", "PCMU": "PCMU"}
SOURCE_RATE = {"G722": 16000, "opus": 48000, "PCMU": 8000}


def phone(phone_factory, switch, tmp_path: Path, number: str, codec: str, hz: float) -> Baresip:
    port = switch.config.sip_host_port[1]
    account = BaresipAccount(
        number, f"pw{number}", registrar=f"127.0.0.1:{port}", audio_codecs=BARESIP_CODECS[codec]
    )
    wav = make_tone_wav(
        tmp_path / f"mic-{number}-{int(hz)}.wav",
        hz,
        30.0,
        rate=SOURCE_RATE[codec],
        channels=2 if codec == "opus" else 1,
    )
    made = phone_factory(account, wav=wav)
    made.wait_registered()
    return made


def call(switch, caller: Baresip, callee: Baresip, number: str, seconds: float = 2.5) -> list[str]:
    port = switch.config.sip_host_port[1]
    caller.dial(f"sip:{number}@127.0.0.1:{port}")
    callee.wait_call_established()
    caller.wait_call_established()
    codecs = switch.call(lambda: sorted(ch.media.codec for ch in switch.switch.channels))
    time.sleep(seconds)
    caller.hangup()
    caller.wait_call_closed()
    assert callee.wait_call_closed().reason
    return codecs


def heard(phone: Baresip):
    samples, rate = read_wav(phone.last_recording("dec"))
    return samples[rate // 2 :], rate  # past the first half second (jitter buffers filling)


def assert_tone(phone: Baresip, hz: float) -> None:
    samples, rate = heard(phone)
    assert rate >= 16000, (phone.name, rate)  # the phone decoded wideband audio
    assert abs(dominant_frequency(samples, rate) - hz) < 20, phone.name
    assert band_energy_ratio(samples, hz, rate) > 0.5, phone.name


@pytest.mark.parametrize("codec", ["G722", "opus"])
def test_wideband_phones_hear_a_6khz_tone_both_ways(switch, phone_factory, tmp_path, codec):
    a = phone(phone_factory, switch, tmp_path, "101", codec, HIGH)
    b = phone(phone_factory, switch, tmp_path, "102", codec, 5000.0)
    assert call(switch, a, b, "102") == [codec.upper()] * 2
    assert_tone(b, HIGH)
    assert_tone(a, 5000.0)


def test_g722_and_opus_phones_talk_at_16khz(switch, phone_factory, tmp_path):
    a = phone(phone_factory, switch, tmp_path, "101", "G722", HIGH)
    b = phone(phone_factory, switch, tmp_path, "102", "opus", 5000.0)
    assert call(switch, a, b, "102") == ["G722", "OPUS"]
    assert_tone(b, HIGH)
    assert_tone(a, 5000.0)


@pytest.mark.parametrize("codec", ["G722", "opus"])
def test_wideband_to_g711_phone_transcodes_and_drops_the_high_band(
    switch, phone_factory, tmp_path, codec
):
    wide = phone(phone_factory, switch, tmp_path, "101", codec, HIGH)
    narrow = phone(phone_factory, switch, tmp_path, "102", "PCMU", LOW)
    assert call(switch, wide, narrow, "102") == sorted([codec.upper(), "PCMU"])
    assert_tone(wide, LOW)  # 1 kHz from the G.711 phone, upsampled
    samples, _ = heard(narrow)
    assert rms(samples) < 200  # the 6 kHz tone cannot reach an 8 kHz phone: filtered out
    # and a tone inside the narrow band does cross the other way
    wide2 = phone(phone_factory, switch, tmp_path, "103", codec, LOW)
    call(switch, wide2, narrow, "102")
    samples, rate = heard(narrow)
    assert abs(dominant_frequency(samples, rate) - LOW) < 20
    assert band_energy_ratio(samples, LOW, rate) > 0.5


def test_digits_cross_between_an_opus_phone_and_a_g711_phone(switch, phone_factory, tmp_path):
    # telephone-event/48000 on the Opus leg (RFC 4733: the audio's clock), /8000 on PCMU
    wide = phone(phone_factory, switch, tmp_path, "101", "opus", LOW)
    narrow = phone(phone_factory, switch, tmp_path, "102", "PCMU", LOW)
    port = switch.config.sip_host_port[1]
    wide.dial(f"sip:102@127.0.0.1:{port}")
    narrow.wait_call_established()
    wide.wait_call_established()
    events = switch.call(
        lambda: sorted(
            (ch.media.codec, ch.media.dtmf_payload_type) for ch in switch.switch.channels
        )
    )
    assert [codec for codec, _ in events] == ["OPUS", "PCMU"]
    assert all(pt is not None for _, pt in events)
    wide.send_dtmf("12")
    assert narrow.wait_dtmf("12") == "12"
    narrow.send_dtmf("9#")
    assert wide.wait_dtmf("9#") == "9#"
    wide.hangup()
    wide.wait_call_closed()
    narrow.wait_call_closed()


def test_a_wideband_conference_stays_wideband(switch, phone_factory, tmp_path):
    port = switch.config.sip_host_port[1]
    phones = {
        "101": phone(phone_factory, switch, tmp_path, "101", "G722", HIGH),
        "102": phone(phone_factory, switch, tmp_path, "102", "opus", 5000.0),
        "103": phone(phone_factory, switch, tmp_path, "103", "G722", LOW),
    }
    for each in phones.values():
        each.dial(f"sip:800@127.0.0.1:{port}")
        each.wait_call_established()
    time.sleep(3.0)
    for each in phones.values():
        each.hangup()
        each.wait_call_closed()
    for number in ("102", "103"):  # the 6 kHz talker is heard by both others
        samples, rate = heard(phones[number])
        assert rate >= 16000
        assert band_energy_ratio(samples, HIGH, rate) > 0.2, number
    samples, rate = heard(phones["101"])  # and hears the two others, not itself
    assert band_energy_ratio(samples, 5000.0, rate) > 0.2
    assert band_energy_ratio(samples, LOW, rate) > 0.2
    assert band_energy_ratio(samples, HIGH, rate) < 0.05
    # the room's recording is wideband too: the 6 kHz talker is in it
    (recording,) = Path(switch.config.media.recordings_dir).glob("conference-800-*.wav")
    samples, rate = read_wav(recording)
    assert rate == 16000
    assert band_energy_ratio(samples, HIGH, rate) > 0.1


def test_music_on_hold_reaches_a_wideband_phone(switch, phone_factory, tmp_path):
    # the music is an 8 kHz source: each wideband leg's session upsamples the shared frame
    caller = phone(phone_factory, switch, tmp_path, "101", "G722", LOW)
    callee = phone(phone_factory, switch, tmp_path, "102", "opus", 5000.0)
    port = switch.config.sip_host_port[1]
    caller.dial(f"sip:102@127.0.0.1:{port}")
    callee.wait_call_established()
    caller.wait_call_established()
    since = time.monotonic()
    time.sleep(1.0)
    callee.command("/hold")
    time.sleep(3.0)
    held = time.monotonic()
    caller.hangup()
    caller.wait_call_closed()
    callee.wait_call_closed()
    samples, rate = read_wav(caller.last_recording("dec"))
    music = samples[int((held - since - 2.0) * rate) : int((held - since) * rate)]
    assert rate == 16000
    assert abs(dominant_frequency(music, rate) - HOLD_MUSIC_HZ) < 20
    assert band_energy_ratio(music, HOLD_MUSIC_HZ, rate) > 0.5
