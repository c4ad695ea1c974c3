"""RTP packets (RFC 3550 section 5.1): parse and serialize.

`RtpPacket.parse` is the complete, validating parser (CSRC list, header
extension, padding). The session's receive path does not build an `RtpPacket`
per datagram: it reads the fixed header with `HEADER.unpack_from` and calls
`payload_bounds` only when the first byte says there is more than a plain
12-byte header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["HEADER", "MAX_DROPOUT", "MAX_MISORDER", "RtpPacket", "payload_bounds"]

# V/P/X/CC, M/PT, sequence number, timestamp, SSRC.
HEADER = struct.Struct("!BBHII")
_EXT_HEADER = struct.Struct("!HH")
VERSION = 2
# RFC 3550 A.1: how far a sequence number may jump and still belong to the same stream.
MAX_DROPOUT = 3000  # forward
MAX_MISORDER = 100  # backward (a late packet)


def payload_bounds(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    """Offsets (start, end) of the payload in an RTP datagram; ValueError if malformed."""
    size = len(data)
    if size < 12:
        raise ValueError("RTP packet shorter than 12 bytes")
    first = data[0]
    if first >> 6 != VERSION:
        raise ValueError(f"RTP version {first >> 6}, expected 2")
    start = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        if size < start + 4:
            raise ValueError("truncated RTP header extension")
        _, words = _EXT_HEADER.unpack_from(data, start)
        start += 4 + 4 * words
    end = size
    if first & 0x20:
        pad = data[-1]
        if pad == 0:
            raise ValueError("RTP padding count is zero")
        end -= pad
    if start > end:
        raise ValueError("RTP header, extension or padding longer than the packet")
    return start, end


@dataclass(slots=True)
class RtpPacket:
    pt: int
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    # (profile-defined 16 bits, extension data whose length is a multiple of 4)
    extension: tuple[int, bytes] | None = None
    # number of padding octets (including the count octet itself); 0 = no padding
    padding: int = 0

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> RtpPacket:
        """Parse one RTP datagram; raises ValueError (only) when it is not valid RTP."""
        data = bytes(data)
        start, end = payload_bounds(data)
        first, second, seq, timestamp, ssrc = HEADER.unpack_from(data)
        count = first & 0x0F
        csrc = struct.unpack_from(f"!{count}I", data, 12) if count else ()
        extension = None
        if first & 0x10:
            offset = 12 + 4 * count
            profile, words = _EXT_HEADER.unpack_from(data, offset)
            extension = (profile, data[offset + 4 : offset + 4 + 4 * words])
        padding = len(data) - end
        return cls(
            pt=second & 0x7F,
            seq=seq,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=data[start:end],
            marker=bool(second & 0x80),
            csrc=tuple(csrc),
            extension=extension,
            padding=padding,
        )

    def to_bytes(self) -> bytes:
        if not 0 <= self.pt <= 127:
            raise ValueError(f"payload type {self.pt} out of range")
        if len(self.csrc) > 15:
            raise ValueError("at most 15 CSRC identifiers")
        if not 0 <= self.padding <= 255:
            raise ValueError("padding must be 0..255 octets")
        first = VERSION << 6 | len(self.csrc)
        parts = []
        if self.extension is not None:
            profile, ext = self.extension
            if len(ext) % 4:
                raise ValueError("RTP header extension length must be a multiple of 4")
            first |= 0x10
            parts.append(_EXT_HEADER.pack(profile, len(ext) // 4))
            parts.append(bytes(ext))
        parts.append(bytes(self.payload))
        if self.padding:
            first |= 0x20
            parts.append(b"\x00" * (self.padding - 1) + bytes([self.padding]))
        header = HEADER.pack(
            first,
            (0x80 if self.marker else 0) | self.pt,
            self.seq & 0xFFFF,
            self.timestamp & 0xFFFFFFFF,
            self.ssrc & 0xFFFFFFFF,
        )
        csrc = struct.pack(f"!{len(self.csrc)}I", *self.csrc) if self.csrc else b""
        return header + csrc + b"".join(parts)
