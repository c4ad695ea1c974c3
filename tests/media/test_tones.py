"""Call-progress and DTMF tones: cadence, frequencies, level."""

import numpy as np
import pytest

from media.dtmf import DIGITS, tone_pair
from media.inband import InbandDtmfDetector
from media.pcm import FRAME, INT16_MAX, RATE
from media.tones import dtmf_tone, ringback


def peaks(x: np.ndarray, count: int) -> list[float]:
    """The `count` strongest frequencies of `x` (Hz, ascending), 1 Hz resolution."""
    spectrum = np.abs(np.fft.rfft(x[:RATE].astype(np.float64)))  # 1 s: bins are 1 Hz
    strongest = np.argsort(spectrum)[-count:]
    return sorted(float(f) for f in strongest)


@pytest.mark.parametrize(
    ("region", "on_s", "freqs"), [("us", 2, [440.0, 480.0]), ("eu", 1, [425.0])]
)
def test_ringback_cadence_and_frequencies(region: str, on_s: int, freqs: list[float]) -> None:
    tone = ringback(region)
    assert tone.dtype == np.int16
    assert len(tone) == (on_s + 4) * RATE  # one cadence: on, then 4 s off
    assert np.abs(tone[: on_s * RATE]).max() > 0
    assert not tone[on_s * RATE :].any()
    assert peaks(tone, len(freqs)) == freqs


def test_ringback_level_and_unknown_region() -> None:
    for level in (0.1, 0.25, 0.5):
        peak = int(np.abs(ringback("eu", level).astype(np.int32)).max())
        assert abs(peak - level * INT16_MAX) <= 1  # one sine: its peak is the level
    with pytest.raises(ValueError, match="ringback region"):
        ringback("jp")


@pytest.mark.parametrize("digit", list(DIGITS))
def test_dtmf_tone_is_its_keypad_pair(digit: str) -> None:
    tone = dtmf_tone(digit, ms=1000)
    assert len(tone) == RATE and tone.dtype == np.int16
    assert peaks(tone, 2) == list(tone_pair(digit))


def test_dtmf_tone_length_case_and_errors() -> None:
    assert len(dtmf_tone("5", ms=100)) == 800
    assert np.array_equal(dtmf_tone("a"), dtmf_tone("A"))
    for bad in ("E", "12", ""):
        with pytest.raises(ValueError, match="not a DTMF digit"):
            dtmf_tone(bad)


def test_dtmf_tones_are_what_the_inband_detector_hears() -> None:
    gap = np.zeros(400, dtype=np.int16)
    audio = np.concatenate([gap] + [np.concatenate([dtmf_tone(d, 80), gap]) for d in DIGITS])
    detector = InbandDtmfDetector()
    heard = [d for i in range(0, len(audio), FRAME) for d in detector.feed(audio[i : i + FRAME])]
    assert "".join(heard) == DIGITS
