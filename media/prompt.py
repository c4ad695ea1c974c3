"""Prompt audio: decode any file or byte string into 8 kHz mono int16, cut into frames.

Everything the media engine plays ends up as one contiguous ``np.int16`` array at
8000 Hz (the format of media.pcm). WAV data is parsed in-process (media.wav; TTS
engines and uploads are WAV); anything else goes through ffmpeg, either via pydub
(synchronous, for tools and upload validation) or via an ffmpeg child process
(``load_audio_async``, never blocks the event loop).
"""

from __future__ import annotations

import asyncio
import io
import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from media.pcm import FRAME, RATE, Samples
from media.wav import AudioError, PcmInfo, parse_wav, pcm_to_mono

# Half-width of the resampling kernel in zero crossings of the narrower band:
# 16 gives > 60 dB stop-band with a Kaiser window, plenty for telephony.
_ZERO_CROSSINGS = 16
_KAISER_BETA = 8.0
_CHUNK = 8192  # output samples per vectorised block (bounds memory)


# ---------------------------------------------------------------- resampling


def resample(x: NDArray[np.integer], src_rate: float, dst_rate: float) -> Samples:
    """Band-limited resampling (windowed sinc) of a mono signal; returns int16.

    Arbitrary (also non-integer) ratios: output sample n sits at input time
    n * src/dst and is the kernel-weighted sum of its neighbours. The cut-off is
    the lower of the two Nyquist frequencies, so downsampling does not alias.
    """
    x = np.asarray(x)
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError("sample rates must be positive")
    if len(x) == 0:
        return np.zeros(0, dtype=np.int16)
    if src_rate == dst_rate:
        return x.astype(np.int16, copy=True)
    step = src_rate / dst_rate  # input samples per output sample
    cutoff = min(1.0, 1.0 / step)  # relative to the input Nyquist
    half = int(math.ceil(_ZERO_CROSSINGS / cutoff))
    taps = np.arange(-half + 1, half + 1)  # 2*half taps around floor(t)
    xf = np.concatenate([np.zeros(half), x.astype(np.float64), np.zeros(half + 1)])
    n_out = int(math.floor(len(x) / step))
    out = np.empty(n_out, dtype=np.float64)
    up, down = _rational(src_rate, dst_rate)
    # A rational ratio has only `up` distinct fractional positions: tabulate
    # their kernels once instead of evaluating sinc/Bessel per output sample.
    table = _kernel(np.arange(up)[:, None] / up - taps[None, :], cutoff, half) if up else None
    for start in range(0, n_out, _CHUNK):
        n = np.arange(start, min(start + _CHUNK, n_out), dtype=np.int64)
        if table is not None:
            base, phase = np.divmod(n * down, up)
            kernel = table[phase]
        else:
            t = n * step
            base = np.floor(t).astype(np.int64)
            kernel = _kernel((t - base)[:, None] - taps[None, :], cutoff, half)
        idx = base[:, None] + taps[None, :] + half
        out[start : start + len(n)] = np.einsum("ij,ij->i", xf[idx], kernel)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def _rational(src_rate: float, dst_rate: float) -> tuple[int, int]:
    """(up, down) with src/dst = down/up for integer rates and a small table; else (0, 0)."""
    if float(src_rate).is_integer() and float(dst_rate).is_integer():
        g = math.gcd(int(src_rate), int(dst_rate))
        up, down = int(dst_rate) // g, int(src_rate) // g
        if up <= 1024:
            return up, down
    return 0, 0


def _kernel(d: NDArray[np.float64], cutoff: float, half: int) -> NDArray[np.float64]:
    return cutoff * np.sinc(cutoff * d) * _kaiser(d / (half + 1.0))


def _kaiser(u: NDArray[np.float64]) -> NDArray[np.float64]:
    """Kaiser window evaluated at u in [-1, 1] (0 outside)."""
    inside = np.abs(u) < 1.0
    arg = _KAISER_BETA * np.sqrt(np.where(inside, 1.0 - u * u, 0.0))
    return np.where(inside, np.i0(arg) / np.i0(_KAISER_BETA), 0.0)


# ---------------------------------------------------------------- loading


def load_wav(data: bytes) -> Samples:
    """WAV bytes -> 8 kHz mono int16."""
    return _at_media_rate(*parse_wav(data))


def load_audio(source: str | Path | bytes) -> Samples:
    """Any file pydub/ffmpeg can read (WAV, MP3, OGG, ...) -> 8 kHz mono int16.

    Synchronous: for tools and upload validation. Call sites on the event loop
    use ``load_audio_async``.
    """
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        return load_wav(raw)
    except AudioError:
        pass
    from pydub import AudioSegment  # imported lazily: only compressed formats need it

    try:
        seg = AudioSegment.from_file(io.BytesIO(raw))
    except Exception as exc:  # pydub surfaces ffmpeg failures as assorted exceptions
        raise AudioError(f"cannot decode audio: {exc}") from exc
    info = PcmInfo(rate=seg.frame_rate, channels=seg.channels, sample_width=seg.sample_width)
    return _at_media_rate(pcm_to_mono(seg.raw_data, info), info.rate)


def _at_media_rate(samples: Samples, rate: int) -> Samples:
    """`samples` (at `rate`) at RATE; as they are when already there."""
    return resample(samples, rate, RATE) if rate != RATE else samples


async def load_audio_async(source: str | Path | bytes, ffmpeg: str = "ffmpeg") -> Samples:
    """Like ``load_audio`` but compressed formats are decoded by an ffmpeg child."""
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        return load_wav(raw)
    except AudioError:
        pass
    proc = await asyncio.create_subprocess_exec(
        ffmpeg,
        "-nostdin",
        "-v",
        "error",
        "-i",
        "pipe:0",
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "-ac",
        "1",
        "-ar",
        str(RATE),
        "pipe:1",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(raw)
    if proc.returncode != 0 or not out:
        raise AudioError(f"cannot decode audio: {err.decode(errors='replace').strip()}")
    return np.frombuffer(out[: len(out) & ~1], dtype="<i2").astype(np.int16)


# ---------------------------------------------------------------- framing


def to_frames(samples: Samples) -> NDArray[np.int16]:
    """(n, FRAME) int16 frames; the last one is padded with silence."""
    n = -(-len(samples) // FRAME)
    out = np.zeros(n * FRAME, dtype=np.int16)
    out[: len(samples)] = samples
    return out.reshape(n, FRAME)


def silence(ms: int) -> Samples:
    return np.zeros(RATE * ms // 1000, dtype=np.int16)


def duration_ms(samples: Samples) -> float:
    return 1000.0 * len(samples) / RATE
