import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from media import g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # reference implementation, present in Python 3.11/3.12

ALL = np.arange(-32768, 32768, dtype=np.int16)
CODES = bytes(range(256))


def test_ulaw_encode_matches_audioop_for_every_sample() -> None:
    assert g711.ulaw_encode(ALL) == audioop.lin2ulaw(ALL.tobytes(), 2)


def test_alaw_encode_matches_audioop_for_every_sample() -> None:
    assert g711.alaw_encode(ALL) == audioop.lin2alaw(ALL.tobytes(), 2)


def test_decode_matches_audioop_for_every_code() -> None:
    assert g711.ulaw_decode(CODES).tobytes() == audioop.ulaw2lin(CODES, 2)
    assert g711.alaw_decode(CODES).tobytes() == audioop.alaw2lin(CODES, 2)


def test_known_itu_values() -> None:
    # Silence codes and the extremes of the G.711 tables.
    assert g711.ulaw_encode(np.array([0], np.int16)) == b"\xff"
    assert g711.alaw_encode(np.array([0], np.int16)) == b"\xd5"
    assert g711.ulaw_decode(b"\x00\x80\x7f\xff").tolist() == [-32124, 32124, 0, 0]
    assert g711.alaw_decode(b"\x55\xd5\x2a\xaa").tolist() == [-8, 8, -32256, 32256]
    assert g711.ulaw_encode(np.array([32767, -32768], np.int16)) == b"\x80\x00"
    assert g711.alaw_encode(np.array([32767, -32768], np.int16)) == b"\xaa\x2a"


def test_decode_returns_fresh_int16_frame() -> None:
    frame = g711.ulaw_decode(b"\x10" * 160)
    assert frame.dtype == np.int16 and frame.shape == (160,)
    frame[:] = 0  # must not write into the lookup table
    assert g711.ulaw_decode(b"\x10").tolist() != [0]


def test_encode_accepts_lists_and_other_int_dtypes() -> None:
    assert g711.encode("pcmu", [0, 1000, -1000]) == g711.ulaw_encode(
        np.array([0, 1000, -1000], np.int16)
    )
    assert g711.encode("PCMA", np.array([5, -5], np.int32)) == g711.alaw_encode(
        np.array([5, -5], np.int16)
    )


def test_generic_codec_dispatch_and_unknown_codec() -> None:
    frame = (np.sin(np.arange(160) / 5) * 8000).astype(np.int16)
    assert (
        g711.decode("PCMU", g711.encode("PCMU", frame)).tolist()
        == g711.ulaw_decode(g711.ulaw_encode(frame)).tolist()
    )
    with pytest.raises(ValueError):
        g711.encode("G729", frame)
    with pytest.raises(ValueError):
        g711.decode("opus", b"")


def test_transcode_equals_decode_then_encode() -> None:
    assert g711.transcode(CODES, "PCMU", "PCMA") == g711.alaw_encode(g711.ulaw_decode(CODES))
    assert g711.transcode(CODES, "PCMA", "PCMU") == g711.ulaw_encode(g711.alaw_decode(CODES))
    assert g711.transcode(CODES, "PCMA", "PCMA") == CODES


@given(arrays(np.int16, st.integers(0, 400)))
def test_roundtrip_is_stable(frame: np.ndarray) -> None:
    # Decoding then re-encoding any code yields the same code (tables are consistent).
    for enc, dec in ((g711.ulaw_encode, g711.ulaw_decode), (g711.alaw_encode, g711.alaw_decode)):
        payload = enc(frame)
        assert len(payload) == len(frame)
        assert enc(dec(payload)) == payload


def test_quantisation_error_is_bounded() -> None:
    # G.711 keeps ~12.5% relative error at most above the first segments.
    for enc, dec in ((g711.ulaw_encode, g711.ulaw_decode), (g711.alaw_encode, g711.alaw_decode)):
        back = dec(enc(ALL)).astype(np.int32)
        err = np.abs(back - ALL.astype(np.int32))
        assert np.all(err <= np.maximum(np.abs(ALL.astype(np.int32)) // 8, 64))
