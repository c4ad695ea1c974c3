"""media.codecs: G.722 and Opus round trips keep a tone (a 6 kHz one too: wideband),
Opus's in-band FEC rebuilds a lost frame from the next packet, G.711 is media.g711's."""

import numpy as np
import pytest

from media import g711
from media.codecs import SPECS, coder, spec


def tone(hz: float, frames: int, rate: int = 16000, amplitude: int = 8000) -> list[np.ndarray]:
    size = rate // 50
    t = np.arange(size * frames) / rate
    wave = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return [wave[i * size : (i + 1) * size] for i in range(frames)]


def peak(samples: np.ndarray, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def test_specs_say_rate_clock_and_frame() -> None:
    assert (spec("g722").rate, spec("g722").clock, spec("g722").payload_type) == (16000, 8000, 9)
    opus = spec("OPUS")
    assert (opus.name, opus.clock, opus.channels, opus.payload_type) == ("opus", 48000, 2, None)
    assert opus.fmtp == "useinbandfec=1"
    assert (opus.frame, opus.step) == (320, 960)
    assert (SPECS["PCMU"].frame, SPECS["PCMU"].step, SPECS["PCMU"].wideband) == (160, 160, False)
    with pytest.raises(ValueError, match="G729"):
        spec("G729")


def test_g711_coder_is_the_table_codec() -> None:
    pcmu = coder("pcmu")
    frame = tone(1000, 1, rate=8000)[0]
    assert pcmu.encode(frame) == g711.ulaw_encode(frame)
    assert pcmu.recover is None


@pytest.mark.parametrize("name", ["G722", "opus"])
@pytest.mark.parametrize("hz", [1000.0, 6000.0])
def test_round_trip_keeps_a_tone_wideband(name: str, hz: float) -> None:
    codec = coder(name)
    decoded = [codec.decode(codec.encode(frame)) for frame in tone(hz, 25)]
    assert all(frame.shape == (320,) and frame.dtype == np.int16 for frame in decoded)
    heard = np.concatenate(decoded[10:])  # past the codecs' start-up
    assert abs(peak(heard) - hz) < 60
    assert np.sqrt(np.mean(heard.astype(np.float64) ** 2)) > 3000  # not attenuated away


def test_g722_payload_is_64_kbits() -> None:
    assert len(coder("G722").encode(tone(1000, 1)[0])) == 160


def test_opus_fec_rebuilds_a_lost_frame_from_the_next_packet() -> None:
    sender, receiver, plc_only = coder("opus"), coder("opus"), coder("opus")
    frames = tone(800, 30)
    packets = [sender.encode(frame) for frame in frames]
    for packet in packets[:20]:
        receiver.decode(packet)
        plc_only.decode(packet)
    # packet 20 is lost; packet 21 arrived and carries its FEC copy
    assert receiver.recover is not None
    rebuilt = receiver.recover(packets[21])
    assert rebuilt.shape == (320,)
    assert abs(peak(rebuilt) - 800) < 60
    assert np.abs(rebuilt).max() > 4000  # the frame, not concealment silence


def test_opus_decode_of_garbage_is_a_silent_frame() -> None:
    frame = coder("opus").decode(b"\xff\xff\xff")
    assert frame.shape == (320,) and not frame.any()
