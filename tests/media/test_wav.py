"""The WAV container: the header we write (checked against the stdlib's reader and
writer) and the parser for what TTS engines and uploads hand us."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest

from media.pcm import RATE
from media.wav import (
    HEADER_SIZE,
    AudioError,
    PcmInfo,
    parse_wav,
    pcm_to_mono,
    wav_bytes,
    wav_header,
)


def tone(freq: float, rate: int, seconds: float = 0.5, amplitude: float = 10000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def stdlib_wav(samples: np.ndarray, rate: int, channels: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


@pytest.mark.parametrize(("rate", "channels"), [(RATE, 1), (RATE, 2), (16000, 1), (44100, 2)])
def test_header_is_the_one_the_stdlib_writes(rate: int, channels: int) -> None:
    samples = tone(440, rate, 0.05)
    if channels == 2:
        samples = np.stack([samples, -samples], axis=1)
    expected = stdlib_wav(samples, rate, channels)
    assert len(wav_header(0)) == HEADER_SIZE == 44
    assert wav_header(samples.nbytes, rate=rate, channels=channels) == expected[:HEADER_SIZE]
    assert wav_bytes(samples, rate, channels) == expected


def test_header_defaults_are_the_media_format() -> None:
    with wave.open(io.BytesIO(wav_header(0)), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2)
        assert w.getnframes() == 0


def test_rate_and_channels_are_keyword_only() -> None:
    # the two used to come in opposite orders in two copies of this function
    with pytest.raises(TypeError):
        wav_header(0, 8000, 2)


def test_parse_reads_what_the_stdlib_writes() -> None:
    x = tone(300, 16000, 0.1)
    samples, rate = parse_wav(stdlib_wav(x, 16000, 1))
    assert rate == 16000 and samples.dtype == np.int16 and np.array_equal(samples, x)


def test_pcm_to_mono_averages_channels_and_rounds() -> None:
    stereo = np.array([[100, 201], [-32768, -32768], [32767, 32766]], dtype="<i2")
    mono = pcm_to_mono(stereo.tobytes(), PcmInfo(rate=RATE, channels=2, sample_width=2))
    assert mono.dtype == np.int16
    assert mono.tolist() == [150, -32768, 32766]  # 150.5 rounds to even, 32766.5 too


def raw_wav(
    payload: bytes,
    rate: int,
    channels: int,
    bits: int,
    fmt_tag: int = 1,
    data_size: int | None = None,
) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    size = len(payload) if data_size is None else data_size
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"LIST"
        + struct.pack("<I", 3)
        + b"abc\x00"
        + b"data"
        + struct.pack("<I", size)
        + payload
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_wav_round_trip() -> None:
    x = tone(440, 8000)
    samples, rate = parse_wav(wav_bytes(x))
    assert rate == 8000 and np.array_equal(samples, x)
    assert wav_header(320, rate=8000, channels=2)[22:24] == struct.pack("<H", 2)


@pytest.mark.parametrize("bits", [8, 16, 24, 32])
def test_pcm_widths(bits: int) -> None:
    x = tone(300, 8000, 0.1)
    if bits == 8:
        payload = ((x.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()
    elif bits == 16:
        payload = x.astype("<i2").tobytes()
    elif bits == 24:
        v = x.astype(np.int32) << 8
        payload = (
            np.stack([v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF], axis=1)
            .astype(np.uint8)
            .tobytes()
        )
    else:
        payload = (x.astype(np.int32) << 16).astype("<i4").tobytes()
    samples, _ = parse_wav(raw_wav(payload, 8000, 1, bits))
    tolerance = 256 if bits == 8 else 0
    assert np.abs(samples.astype(np.int32) - x).max() <= tolerance


def test_stereo_is_mixed_to_mono_and_odd_chunks_are_skipped() -> None:
    left, right = tone(300, 8000, 0.1), np.zeros(800, dtype=np.int16)
    payload = np.stack([left, right], axis=1).astype("<i2").tobytes()
    samples, _ = parse_wav(raw_wav(payload, 8000, 2, 16))
    assert np.abs(samples - np.round(left / 2)).max() <= 1


def test_streaming_header_sizes_are_tolerated() -> None:
    x = tone(300, 8000, 0.1)
    samples, _ = parse_wav(raw_wav(x.tobytes() + b"\x01", 8000, 1, 16, data_size=0x7FFFFFFF))
    assert np.array_equal(samples, x)


@pytest.mark.parametrize(
    "data", [b"", b"RIFF", b"not audio at all" * 4, raw_wav(b"\x00" * 10, 8000, 1, 16, fmt_tag=3)]
)
def test_bad_wav(data: bytes) -> None:
    with pytest.raises(AudioError):
        parse_wav(data)
