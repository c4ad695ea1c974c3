"""The WAV container for 16-bit PCM: the header we write, the files we read.

Recordings are written through `wav_header` (rewritten in place as they grow,
see media.recorder); TTS output and uploaded prompts are parsed by `parse_wav`,
which accepts 8/16/24/32-bit integer PCM of any rate and channel count and
returns mono int16 (resampling to RATE is the caller's business).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from media.pcm import INT16_MAX, INT16_MIN, RATE, SAMPLE_BYTES, Samples

__all__ = [
    "HEADER_SIZE",
    "AudioError",
    "PcmInfo",
    "parse_wav",
    "pcm_to_mono",
    "wav_bytes",
    "wav_header",
]

_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
HEADER_SIZE = _HEADER.size  # 44


class AudioError(ValueError):
    """The data is not audio we can decode."""


@dataclass(slots=True)
class PcmInfo:
    rate: int
    channels: int
    sample_width: int  # bytes per sample


def wav_header(data_bytes: int, *, rate: int = RATE, channels: int = 1) -> bytes:
    """The canonical 44-byte header of a 16-bit PCM WAV holding `data_bytes` of samples."""
    block = channels * SAMPLE_BYTES
    return _HEADER.pack(
        b"RIFF",
        HEADER_SIZE - 8 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,
        channels,
        rate,
        rate * block,
        block,
        8 * SAMPLE_BYTES,
        b"data",
        data_bytes,
    )


def wav_bytes(samples: Samples, rate: int = RATE, channels: int = 1) -> bytes:
    """A complete 16-bit PCM WAV for `samples` (interleaved when channels > 1)."""
    pcm = np.ascontiguousarray(samples, dtype="<i2").tobytes()
    return wav_header(len(pcm), rate=rate, channels=channels) + pcm


def parse_wav(data: bytes) -> tuple[Samples, int]:
    """(mono int16 samples, sample rate) from WAV bytes.

    Tolerates the header sizes that streaming writers leave behind (espeak-ng
    writes 0x7fffffff to a pipe; a crashed recorder leaves stale sizes): the
    data chunk simply runs to the end of the buffer when its size overshoots.
    """
    info, payload = _wav_chunks(data)
    return pcm_to_mono(payload, info), info.rate


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


def pcm_to_mono(payload: bytes, info: PcmInfo) -> Samples:
    """Little-endian integer PCM as described by `info` -> mono int16 (channels averaged)."""
    w = info.sample_width
    x: NDArray[np.signedinteger] | NDArray[np.float64]
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
    return np.clip(x, INT16_MIN, INT16_MAX).astype(np.int16)
