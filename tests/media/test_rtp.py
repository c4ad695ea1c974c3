import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.rtp import HEADER, RtpPacket, payload_bounds


def test_parse_plain_packet() -> None:
    data = (
        bytes([0x80, 0x80 | 8]) + struct.pack("!HII", 65535, 0xDEADBEEF, 0x01020304) + b"\xd5" * 160
    )
    packet = RtpPacket.parse(data)
    assert packet == RtpPacket(
        pt=8, seq=65535, timestamp=0xDEADBEEF, ssrc=0x01020304, payload=b"\xd5" * 160, marker=True
    )
    assert packet.to_bytes() == data


def test_csrc_extension_and_padding_roundtrip() -> None:
    packet = RtpPacket(
        pt=0,
        seq=7,
        timestamp=160,
        ssrc=42,
        payload=b"abc",
        csrc=(1, 2, 3),
        extension=(0xBEDE, b"\x10\x01\x00\x00"),
        padding=5,
    )
    data = packet.to_bytes()
    assert data[0] == 0x80 | 0x20 | 0x10 | 3
    assert len(data) == 12 + 12 + 4 + 4 + 3 + 5
    assert data[-1] == 5
    assert RtpPacket.parse(data) == packet
    start, end = payload_bounds(data)
    assert data[start:end] == b"abc"


def test_fixed_header_struct_matches_parser() -> None:
    data = RtpPacket(pt=101, seq=1, timestamp=2, ssrc=3, payload=b"x", marker=True).to_bytes()
    first, second, seq, ts, ssrc = HEADER.unpack_from(data)
    assert (first, second & 0x7F, second >> 7, seq, ts, ssrc) == (0x80, 101, 1, 1, 2, 3)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "shorter"),
        (b"\x80\x00" + b"\x00" * 9, "shorter"),
        (b"\x40\x00" + b"\x00" * 10, "version"),
        (b"\x90\x00" + b"\x00" * 10, "extension"),
        (b"\x90\x00" + b"\x00" * 10 + b"\x00\x00\x00\x05", "longer"),
        (b"\x83\x00" + b"\x00" * 10 + b"\x00" * 8, "longer"),
        (b"\xa0\x00" + b"\x00" * 10 + b"\x00", "zero"),
        (b"\xa0\x00" + b"\x00" * 10 + b"\x09", "longer"),
    ],
)
def test_garbage_raises_value_error(data: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        RtpPacket.parse(data)


def test_to_bytes_rejects_invalid_fields() -> None:
    with pytest.raises(ValueError):
        RtpPacket(pt=128, seq=0, timestamp=0, ssrc=0).to_bytes()
    with pytest.raises(ValueError):
        RtpPacket(pt=0, seq=0, timestamp=0, ssrc=0, csrc=tuple(range(16))).to_bytes()
    with pytest.raises(ValueError):
        RtpPacket(pt=0, seq=0, timestamp=0, ssrc=0, extension=(1, b"abc")).to_bytes()


@given(st.binary(max_size=300))
def test_fuzz_parse_only_raises_value_error(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except ValueError:
        return
    # Whatever parses re-serializes to the same bytes, except padding octet contents.
    out = packet.to_bytes()
    assert len(out) == len(data)
    assert out[: len(out) - packet.padding] == data[: len(data) - packet.padding]


@given(st.binary(min_size=12, max_size=300).map(lambda b: bytes([0x80 | (b[0] & 0x3F)]) + b[1:]))
def test_fuzz_version_two_headers(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        RtpPacket.parse(data)


packets = st.builds(
    RtpPacket,
    pt=st.integers(0, 127),
    seq=st.integers(0, 65535),
    timestamp=st.integers(0, 2**32 - 1),
    ssrc=st.integers(0, 2**32 - 1),
    payload=st.binary(max_size=200),
    marker=st.booleans(),
    csrc=st.lists(st.integers(0, 2**32 - 1), max_size=15).map(tuple),
    extension=st.none()
    | st.tuples(st.integers(0, 65535), st.binary(max_size=40).map(lambda b: b[: len(b) // 4 * 4])),
    padding=st.integers(0, 255),
)


@given(packets)
def test_roundtrip(packet: RtpPacket) -> None:
    assert RtpPacket.parse(packet.to_bytes()) == packet
