"""Prompt loading: WAV in-process, other formats via ffmpeg; resampling; framing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from media.pcm import FRAME
from media.prompt import (
    duration_ms,
    load_audio,
    load_audio_async,
    resample,
    silence,
    to_frames,
)
from media.wav import AudioError, wav_bytes


def tone(freq: float, rate: int, seconds: float = 0.5, amplitude: float = 10000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dominant(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_resample_keeps_frequency_and_level() -> None:
    x = tone(1000, 16000)
    y = resample(x, 16000, 8000)
    assert len(y) == 4000
    assert dominant(y, 8000) == pytest.approx(1000, abs=5)
    assert rms(y[200:-200]) == pytest.approx(rms(x), rel=0.02)
    up = resample(tone(1000, 8000), 8000, 44100)
    assert dominant(up, 44100) == pytest.approx(1000, abs=5)
    odd = resample(tone(1000, 22050), 22050, 8000)  # espeak-ng's rate
    assert dominant(odd, 8000) == pytest.approx(1000, abs=5)


def test_resample_removes_what_would_alias() -> None:
    # 6 kHz cannot exist at 8 kHz; without filtering it would fold to 2 kHz
    y = resample(tone(6000, 16000), 16000, 8000)
    assert rms(y[200:-200]) < 0.01 * rms(tone(6000, 16000))


def test_resample_edge_cases() -> None:
    assert len(resample(np.zeros(0, np.int16), 16000, 8000)) == 0
    x = tone(300, 8000, 0.01)
    assert np.array_equal(resample(x, 8000, 8000), x)
    with pytest.raises(ValueError):
        resample(x, 0, 8000)


def test_load_audio_resamples_wav(tmp_path: Path) -> None:
    path = tmp_path / "p.wav"
    path.write_bytes(wav_bytes(tone(500, 16000, 1.0), 16000))
    audio = load_audio(path)
    assert audio.dtype == np.int16 and len(audio) == 8000
    assert dominant(audio, 8000) == pytest.approx(500, abs=5)


@pytest.fixture
def mp3(tmp_path: Path) -> bytes:
    src = tmp_path / "t.wav"
    src.write_bytes(wav_bytes(np.stack([tone(700, 44100, 1.0)] * 2, axis=1), 44100, 2))
    out = tmp_path / "t.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(src), str(out)], check=True)
    return out.read_bytes()


def test_load_audio_decodes_mp3(mp3: bytes) -> None:
    audio = load_audio(mp3)
    assert abs(len(audio) - 8000) < 400  # mp3 adds encoder padding
    assert dominant(audio, 8000) == pytest.approx(700, abs=5)


async def test_load_audio_async_decodes_mp3_and_wav(mp3: bytes, tmp_path: Path) -> None:
    audio = await load_audio_async(mp3)
    assert dominant(audio, 8000) == pytest.approx(700, abs=5)
    wav = tmp_path / "w.wav"
    wav.write_bytes(wav_bytes(tone(400, 8000)))
    assert np.array_equal(await load_audio_async(wav), tone(400, 8000))


async def test_undecodable_input() -> None:
    with pytest.raises(AudioError):
        load_audio(b"\x00garbage" * 100)
    with pytest.raises(AudioError):
        await load_audio_async(b"\x00garbage" * 100)


def test_frames_and_helpers() -> None:
    frames = to_frames(np.arange(170, dtype=np.int16))
    assert frames.shape == (2, FRAME)
    assert frames[1, 9] == 169 and not frames[1, 10:].any()
    assert len(silence(20)) == FRAME and duration_ms(silence(250)) == 250.0
