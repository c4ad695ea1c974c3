"""media.resample: 8<->16 kHz frame by frame, continuous across frames, filtered."""

import numpy as np

from media.resample import Downsampler, Upsampler


def sine(hz: float, rate: int, frames: int, amplitude: int = 10000) -> list[np.ndarray]:
    size = rate // 50
    t = np.arange(size * frames) / rate
    wave = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return [wave[i * size : (i + 1) * size] for i in range(frames)]


def fit_error(signal: np.ndarray, hz: float, rate: int) -> tuple[float, float]:
    """(largest deviation from the best-fitting sine of `hz`, its amplitude)."""
    t = np.arange(len(signal)) / rate
    basis = np.stack([np.sin(2 * np.pi * hz * t), np.cos(2 * np.pi * hz * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, signal.astype(np.float64), rcond=None)
    return float(np.abs(signal - basis @ coef).max()), float(np.hypot(*coef))


def test_upsampled_tone_is_the_same_tone_at_16khz_without_seams() -> None:
    up = Upsampler()
    out = [up(frame) for frame in sine(1000, 8000, 10)]
    assert all(frame.shape == (320,) and frame.dtype == np.int16 for frame in out)
    error, amplitude = fit_error(np.concatenate(out[2:]), 1000, 16000)
    assert abs(amplitude - 10000) < 50
    assert error < 5  # a seam at a frame edge would stand out by hundreds


def test_downsampled_tone_below_4khz_passes() -> None:
    down = Downsampler()
    out = [down(frame) for frame in sine(3000, 16000, 10)]
    assert all(frame.shape == (160,) for frame in out)
    error, amplitude = fit_error(np.concatenate(out[2:]), 3000, 8000)
    assert abs(amplitude - 10000) < 300 and error < 300


def test_downsampling_removes_what_8khz_cannot_carry() -> None:
    down = Downsampler()
    out = np.concatenate([down(frame) for frame in sine(6000, 16000, 10)][2:])
    assert np.abs(out).max() < 20  # no 2 kHz alias of the 6 kHz tone


def test_loud_input_saturates_instead_of_wrapping() -> None:
    up = Upsampler()
    square = np.where(np.arange(160) % 40 < 20, 32767, -32768).astype(np.int16)
    out = np.concatenate([up(square) for _ in range(3)])
    assert out.max() == 32767 and out.min() == -32768  # Gibbs overshoot clipped
