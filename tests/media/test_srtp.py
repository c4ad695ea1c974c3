import base64

import pytest

from media.rtcp import ReceiverReport, build_compound
from media.rtp import HEADER
from media.srtp import KEY_LENGTH, SrtpContext, SrtpKey, SrtpSuite


def rtp(seq: int, payload: bytes = b"\xff" * 160) -> bytes:
    return HEADER.pack(0x80, 0, seq, seq * 160, 0x1234) + payload


def pair(suite: SrtpSuite) -> tuple[SrtpContext, SrtpContext]:
    """Two ends of one leg: each encrypts with its own key, decrypts with the other's."""
    a, b = SrtpKey.generate(suite), SrtpKey.generate(suite)
    return SrtpContext(a, b), SrtpContext(b, a)


@pytest.mark.parametrize(
    ("suite", "tag"),
    [(SrtpSuite.AES_CM_128_HMAC_SHA1_80, 10), (SrtpSuite.AES_CM_128_HMAC_SHA1_32, 4)],
)
def test_round_trip_both_suites(suite: SrtpSuite, tag: int) -> None:
    ours, theirs = pair(suite)
    for seq in range(1, 5):
        plain = rtp(seq, bytes(range(160)))
        sealed = ours.protect(plain)
        assert len(sealed) == len(plain) + tag
        assert sealed[12:172] != plain[12:]  # the payload is encrypted
        assert theirs.unprotect(sealed) == plain
        back = theirs.protect(plain)
        assert ours.unprotect(back) == plain
    assert ours.rejected == theirs.rejected == 0


def test_srtcp_round_trip() -> None:
    ours, theirs = pair(SrtpSuite.AES_CM_128_HMAC_SHA1_32)
    report = build_compound(ReceiverReport(0x1234, []), "cname")
    sealed = ours.protect_rtcp(report)
    assert sealed != report
    assert theirs.unprotect_rtcp(sealed) == report
    assert theirs.unprotect_rtcp(report) is None  # plain RTCP is not accepted
    assert theirs.unprotect_rtcp(sealed) is None  # nor a replayed report
    assert theirs.rejected_rtcp == 2 and theirs.rejected == 0


def test_tampered_tag_is_dropped_and_counted() -> None:
    ours, theirs = pair(SrtpSuite.AES_CM_128_HMAC_SHA1_80)
    sealed = bytearray(ours.protect(rtp(7)))
    sealed[-1] ^= 0x01
    assert theirs.unprotect(bytes(sealed)) is None
    assert theirs.rejected == 1
    # the payload flipped instead of the tag: same fate
    sealed = bytearray(ours.protect(rtp(8)))
    sealed[20] ^= 0x80
    assert theirs.unprotect(bytes(sealed)) is None
    assert theirs.rejected == 2


def test_wrong_key_and_plain_rtp_are_dropped() -> None:
    ours, _ = pair(SrtpSuite.AES_CM_128_HMAC_SHA1_80)
    _, stranger = pair(SrtpSuite.AES_CM_128_HMAC_SHA1_80)
    assert stranger.unprotect(ours.protect(rtp(1))) is None
    assert stranger.unprotect(rtp(2)) is None
    assert stranger.unprotect(b"\x80") is None
    assert stranger.unprotect(rtp(3, bytes(4000))) is None  # oversized datagram
    assert stranger.unprotect_rtcp(bytes(4000)) is None
    assert stranger.rejected == 4 and stranger.rejected_rtcp == 1


def test_replay_is_dropped() -> None:
    ours, theirs = pair(SrtpSuite.AES_CM_128_HMAC_SHA1_80)
    sealed = ours.protect(rtp(100))
    assert theirs.unprotect(sealed) == rtp(100)
    assert theirs.unprotect(sealed) is None
    assert theirs.rejected == 1
    assert theirs.unprotect(ours.protect(rtp(101))) == rtp(101)


def test_key_params_round_trip_and_format() -> None:
    key = SrtpKey.generate(SrtpSuite.AES_CM_128_HMAC_SHA1_80)
    assert key.key_params.startswith("inline:")
    assert len(base64.b64decode(key.key_params[7:])) == KEY_LENGTH
    assert SrtpKey.from_key_params(key.suite, key.key_params) == key
    assert SrtpKey.from_key_params(key.suite, key.key_params + "|2^20") == key
    assert SrtpKey.generate(key.suite) != key


@pytest.mark.parametrize(
    ("suite", "params"),
    [
        ("F8_128_HMAC_SHA1_80", "inline:" + "A" * 40),
        ("AES_CM_128_HMAC_SHA1_80", "inline:" + "A" * 40 + "|2^20|1:4"),  # MKI
        ("AES_CM_128_HMAC_SHA1_80", "inline:" + "A" * 20),  # too short
        ("AES_CM_128_HMAC_SHA1_80", "inline:***"),
        ("AES_CM_128_HMAC_SHA1_80", "uri:https://example.com/key"),
    ],
)
def test_unusable_key_params_are_refused(suite: str, params: str) -> None:
    with pytest.raises(ValueError):
        SrtpKey.from_key_params(suite, params)


def test_suites_must_match() -> None:
    with pytest.raises(ValueError):
        SrtpContext(
            SrtpKey.generate(SrtpSuite.AES_CM_128_HMAC_SHA1_80),
            SrtpKey.generate(SrtpSuite.AES_CM_128_HMAC_SHA1_32),
        )
