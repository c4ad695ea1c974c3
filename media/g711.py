"""ITU-T G.711 mu-law (PCMU) and A-law (PCMA) via numpy lookup tables.

The tables are built once at import with the reference segment arithmetic
(the Sun/CCITT g711.c algorithm, the same one CPython's ``audioop`` uses), so
encoding a 20 ms frame is a single fancy-indexing operation:

* decode: 256-entry int16 table indexed by the payload bytes;
* encode: 65536-entry uint8 table indexed by the int16 samples viewed as uint16.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import NDArray

from media.pcm import Samples

__all__ = [
    "CODECS",
    "DECODERS",
    "ENCODERS",
    "alaw_decode",
    "alaw_encode",
    "decode",
    "encode",
    "transcode",
    "ulaw_decode",
    "ulaw_encode",
]

_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159
_ULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)


def _build_ulaw_encode() -> NDArray[np.uint8]:
    # Index i is the int16 sample whose bit pattern, read as uint16, equals i.
    pcm = np.arange(65536, dtype=np.int32)
    pcm = np.where(pcm >= 32768, pcm - 65536, pcm) >> 2  # 14-bit input
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = np.searchsorted(_ULAW_SEG_END, mag, side="left")
    uval = (seg << 4) | ((mag >> (seg + 1)) & 0xF)
    uval = np.where(seg >= 8, 0x7F, uval)
    return ((uval ^ mask) & 0xFF).astype(np.uint8)


def _build_ulaw_decode() -> Samples:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def _build_alaw_encode() -> NDArray[np.uint8]:
    pcm = np.arange(65536, dtype=np.int32)
    pcm = np.where(pcm >= 32768, pcm - 65536, pcm) >> 3  # 13-bit input
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = np.searchsorted(_ALAW_SEG_END, mag, side="left")
    quant = np.where(seg < 2, mag >> 1, mag >> np.maximum(seg, 1)) & 0x0F
    aval = (seg << 4) | quant
    aval = np.where(seg >= 8, 0x7F, aval)
    return ((aval ^ mask) & 0xFF).astype(np.uint8)


def _build_alaw_decode() -> Samples:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


_ULAW_ENC = _build_ulaw_encode()
_ULAW_DEC = _build_ulaw_decode()
_ALAW_ENC = _build_alaw_encode()
_ALAW_DEC = _build_alaw_decode()
# Byte-to-byte transcoding tables: a bridged PCMU<->PCMA call needs no int16 step.
_ULAW_TO_ALAW = _ALAW_ENC[_ULAW_DEC.view(np.uint16)]
_ALAW_TO_ULAW = _ULAW_ENC[_ALAW_DEC.view(np.uint16)]

_ULAW_TO_ALAW_BYTES = _ULAW_TO_ALAW.tobytes()
_ALAW_TO_ULAW_BYTES = _ALAW_TO_ULAW.tobytes()

for _table in (_ULAW_ENC, _ULAW_DEC, _ALAW_ENC, _ALAW_DEC, _ULAW_TO_ALAW, _ALAW_TO_ULAW):
    _table.flags.writeable = False


_INT16 = np.dtype(np.int16)


def _as_uint16(frame: Samples) -> NDArray[np.uint16]:
    if type(frame) is not np.ndarray or frame.dtype is not _INT16:
        frame = np.asarray(frame, dtype=np.int16)
    return frame.view(np.uint16)


# ndarray.take is measurably cheaper than fancy indexing for 160-sample frames.


def ulaw_encode(frame: Samples) -> bytes:
    """int16 samples -> mu-law payload (one byte per sample)."""
    return _ULAW_ENC.take(_as_uint16(frame)).tobytes()


def ulaw_decode(payload: bytes) -> Samples:
    """mu-law payload -> new int16 array."""
    return _ULAW_DEC.take(np.frombuffer(payload, dtype=np.uint8))


def alaw_encode(frame: Samples) -> bytes:
    """int16 samples -> A-law payload (one byte per sample)."""
    return _ALAW_ENC.take(_as_uint16(frame)).tobytes()


def alaw_decode(payload: bytes) -> Samples:
    """A-law payload -> new int16 array."""
    return _ALAW_DEC.take(np.frombuffer(payload, dtype=np.uint8))


# By codec name as SDP spells it (upper case); RtpSession picks its pair from these.
ENCODERS: Mapping[str, Callable[[Samples], bytes]] = {"PCMU": ulaw_encode, "PCMA": alaw_encode}
DECODERS: Mapping[str, Callable[[bytes], Samples]] = {"PCMU": ulaw_decode, "PCMA": alaw_decode}
CODECS: tuple[str, ...] = ("PCMU", "PCMA")


def _codec(name: str) -> str:
    key = name.upper()
    if key not in ENCODERS:
        raise ValueError(f"unsupported codec {name!r} (have {', '.join(CODECS)})")
    return key


def encode(codec: str, frame: Samples) -> bytes:
    """Encode int16 samples with 'PCMU' or 'PCMA'."""
    return ENCODERS[_codec(codec)](frame)


def decode(codec: str, payload: bytes) -> Samples:
    """Decode a 'PCMU' or 'PCMA' payload to int16 samples."""
    return DECODERS[_codec(codec)](payload)


def transcode(payload: bytes, src: str, dst: str) -> bytes:
    """Re-encode a payload from one G.711 law to the other (identical to decode + encode)."""
    src, dst = _codec(src), _codec(dst)
    if src == dst:
        return bytes(payload)
    return bytes(payload).translate(_ULAW_TO_ALAW_BYTES if src == "PCMU" else _ALAW_TO_ULAW_BYTES)
