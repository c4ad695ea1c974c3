"""Prompt audio: decode any file or byte string into 8 kHz mono int16, cut into frames.

Everything the media engine plays ends up as one contiguous ``np.int16`` array at
8000 Hz. WAV data is parsed in-process (TTS engines and uploads are WAV); anything
else goes through ffmpeg, either via pydub (synchronous, for tools and upload
validation) or via an ffmpeg child process (``load_audio_async``, never blocks the
event loop).
"""

from __future__ import annotations

import asyncio
import io
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 8000
FRAME = 160  # samples per 20 ms frame at 8 kHz
FRAME_MS = 20

# Half-width of the resampling kernel in zero crossings of the narrower band:
# 16 gives > 60 dB stop-band with a Kaiser window, plenty for telephony.
_ZERO_CROSSINGS = 16
_KAISER_BETA = 8.0
_CHUNK = 8192  # output samples per vectorised block (bounds memory)


class AudioError(ValueError):
    """The data is not audio we can decode."""


@dataclass(slots=True)
class PcmInfo:
    rate: int
    channels: int
    sample_width: int  # bytes per sample


# ---------------------------------------------------------------- WAV parsing


def parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """(mono int16 samples, sample rate) from WAV bytes.

    Tolerates the header sizes that streaming writers leave behind (espeak-ng
    writes 0x7fffffff to a pipe; a crashed recorder leaves stale sizes): the
    data chunk simply runs to the end of the buffer when its size overshoots.
    """
    info, payload = _wav_chunks(data)
    return _pcm_to_mono_int16(payload, info), info.rate


def _wav_chunks(data: bytes) -> tuple[PcmInfo, bytes]:
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise AudioError("not a RIFF/WAVE file")
    pos = 12
    info: PcmInfo | None = None
    while pos + 8 <= len(data):
        cid = data[pos : pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if cid == b"fmt ":
            fmt_tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            # 0xFFFE = WAVE_FORMAT_EXTENSIBLE; its sub-format is PCM for what we accept
            if fmt_tag not in (1, 0xFFFE):
                raise AudioError(f"WAV format tag {fmt_tag} is not PCM")
            if bits not in (8, 16, 24, 32) or channels < 1 or rate < 1:
                raise AudioError(f"unsupported WAV: {bits} bits, {channels} ch, {rate} Hz")
            info = PcmInfo(rate=rate, channels=channels, sample_width=bits // 8)
        elif cid == b"data":
            if info is None:
                raise AudioError("WAV data chunk before fmt chunk")
            end = min(body + size, len(data))
            frame_bytes = info.channels * info.sample_width
            end -= (end - body) % frame_bytes
            return info, data[body:end]
        pos = body + size + (size & 1)
    raise AudioError("WAV without fmt/data chunks")


def _pcm_to_mono_int16(payload: bytes, info: PcmInfo) -> np.ndarray:
    w = info.sample_width
    if w == 1:
        x = (np.frombuffer(payload, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif w == 2:
        x = np.frombuffer(payload, dtype="<i2").astype(np.int32)
    elif w == 3:
        b = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        x = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(x & 0x800000, x - 0x1000000, x) >> 8
    else:
        x = np.frombuffer(payload, dtype="<i4").astype(np.int64) >> 16
    if info.channels > 1:
        x = np.round(x.reshape(-1, info.channels).mean(axis=1))
    return np.clip(x, -32768, 32767).astype(np.int16)


def wav_bytes(samples: np.ndarray, rate: int = RATE, channels: int = 1) -> bytes:
    """A complete 16-bit PCM WAV for `samples` (interleaved when channels > 1)."""
    pcm = np.ascontiguousarray(samples, dtype="<i2").tobytes()
    return wav_header(len(pcm), rate, channels) + pcm


def wav_header(data_bytes: int, rate: int = RATE, channels: int = 1) -> bytes:
    """The canonical 44-byte header of a 16-bit PCM WAV holding `data_bytes`."""
    block = 2 * channels
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


# ---------------------------------------------------------------- resampling


def resample(x: np.ndarray, src_rate: float, dst_rate: float) -> np.ndarray:
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


def _kernel(d: np.ndarray, cutoff: float, half: int) -> np.ndarray:
    return cutoff * np.sinc(cutoff * d) * _kaiser(d / (half + 1.0))


def _kaiser(u: np.ndarray) -> np.ndarray:
    """Kaiser window evaluated at u in [-1, 1] (0 outside)."""
    inside = np.abs(u) < 1.0
    arg = _KAISER_BETA * np.sqrt(np.where(inside, 1.0 - u * u, 0.0))
    return np.where(inside, np.i0(arg) / np.i0(_KAISER_BETA), 0.0)


# ---------------------------------------------------------------- loading


def load_wav(data: bytes) -> np.ndarray:
    """WAV bytes -> 8 kHz mono int16."""
    samples, rate = parse_wav(data)
    return resample(samples, rate, RATE) if rate != RATE else samples


def load_audio(source: str | Path | bytes) -> np.ndarray:
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
    samples = _pcm_to_mono_int16(seg.raw_data, info)
    return resample(samples, info.rate, RATE) if info.rate != RATE else samples


async def load_audio_async(source: str | Path | bytes, ffmpeg: str = "ffmpeg") -> np.ndarray:
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


def to_frames(samples: np.ndarray) -> np.ndarray:
    """(n, 160) int16 frames; the last one is padded with silence."""
    n = -(-len(samples) // FRAME)
    out = np.zeros(n * FRAME, dtype=np.int16)
    out[: len(samples)] = samples
    return out.reshape(n, FRAME)


def silence(ms: int) -> np.ndarray:
    return np.zeros(RATE * ms // 1000, dtype=np.int16)


def duration_ms(samples: np.ndarray) -> float:
    return 1000.0 * len(samples) / RATE
