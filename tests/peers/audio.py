"""Test audio: tone WAVs to feed peers, and analysis of what they recorded.

Everything here is mono int16; baresip's sndfile dumps are mono S16LE at the codec
rate (8000 Hz for G.711), which is what `read_wav` returns.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 8000


def make_tone_wav(
    path: str | Path,
    freq: float,
    seconds: float,
    rate: int = RATE,
    amplitude: float = 0.3,
    channels: int = 1,
) -> Path:
    """Write an S16LE sine of `freq` Hz lasting `seconds` (the same in each of `channels`:
    baresip's aufile wants Opus's 48 kHz stereo); returns the path."""
    samples = tone(freq, seconds, rate, amplitude)
    return write_wav(path, samples, rate, channels)


def tone(freq: float, seconds: float, rate: int = RATE, amplitude: float = 0.3) -> np.ndarray:
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(round(seconds * rate)), dtype=np.int16)


def write_wav(path: str | Path, samples: np.ndarray, rate: int = RATE, channels: int = 1) -> Path:
    path = Path(path)
    data = np.repeat(np.asarray(samples, dtype=np.int16), channels)  # interleaved
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.astype("<i2").tobytes())
    return path


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(samples as int16 mono, sample rate). Multi-channel files are averaged to mono."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit samples, expected 16-bit")
        channels = w.getnchannels()
        rate = w.getframerate()
        raw = w.readframes(w.getnframes())
    data = np.frombuffer(raw, dtype="<i2")
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return data.astype(np.int16), rate


def _samples(source: str | Path | np.ndarray, rate: int | None) -> tuple[np.ndarray, int]:
    if isinstance(source, np.ndarray):
        return source, rate or RATE
    data, file_rate = read_wav(source)
    return data, file_rate


def rms(source: str | Path | np.ndarray) -> float:
    """Root mean square of the samples (0 for an empty signal)."""
    data, _ = _samples(source, None)
    if len(data) == 0:
        return 0.0
    x = data.astype(np.float64)
    return float(np.sqrt(np.mean(x * x)))


def dominant_frequency(source: str | Path | np.ndarray, rate: int | None = None) -> float:
    """Frequency (Hz) of the strongest FFT bin, DC excluded.

    A Hann window keeps leakage from the silence a recording starts with from
    moving the peak. Returns 0.0 for an empty or all-silent signal.
    """
    data, rate = _samples(source, rate)
    if len(data) < 2 or not np.any(data):
        return 0.0
    x = data.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spectrum[0] = 0.0
    return float(np.argmax(spectrum) * rate / len(x))


def band_energy_ratio(
    source: str | Path | np.ndarray, freq: float, rate: int | None = None, width: float = 20.0
) -> float:
    """Share of the signal's energy within +-`width` Hz of `freq` (0..1).

    Tells "this tone is what we hear" apart from "this tone is somewhere in the
    noise", which dominant_frequency alone cannot.
    """
    data, rate = _samples(source, rate)
    if len(data) < 2 or not np.any(data):
        return 0.0
    x = data.astype(np.float64)
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    power[0] = 0.0
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    band = (freqs >= freq - width) & (freqs <= freq + width)
    total = power.sum()
    return float(power[band].sum() / total) if total > 0 else 0.0


def active(
    source: str | Path | np.ndarray, threshold: int = 200, rate: int | None = None
) -> np.ndarray:
    """The samples between the first and the last one louder than `threshold`."""
    data, _ = _samples(source, rate)
    loud = np.flatnonzero(np.abs(data.astype(np.int32)) > threshold)
    if len(loud) == 0:
        return data[:0]
    return data[loud[0] : loud[-1] + 1]


def spoken(
    text: str, voice: str = "kal", engine: str = "flite", rate: int | None = None
) -> np.ndarray:
    """`text` said by flite (voice kal, slt, awb, rms, ...) or espeak-ng (voice en-us,
    en+f3, ...; `rate` in words per minute), as 8 kHz int16: a caller's answer."""
    import subprocess
    import tempfile

    from media.prompt import load_wav

    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        if engine == "flite":
            command = ["flite", "-voice", voice, "-t", text, "-o", out.name]
            if rate is not None:  # flite's duration stretch: 175 wpm is its normal pace
                command[1:1] = ["--setf", f"duration_stretch={175 / rate:.2f}"]
        else:
            command = ["espeak-ng", "-v", voice, "-w", out.name, text]
            if rate is not None:
                command[1:1] = ["-s", str(rate)]
        subprocess.run(command, check=True, capture_output=True)
        return load_wav(Path(out.name).read_bytes())
