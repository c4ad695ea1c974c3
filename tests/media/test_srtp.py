import base64

import pytest

from media import srtp
from media.rtcp import ReceiverReport, build_compound
from media.rtp import HEADER
from media.srtp import KEY_LENGTH, SrtpContext, SrtpError, SrtpKey, SrtpSuite, check_binding


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


def test_pylibsrtp_binding_is_the_one_we_call() -> None:
    """Fails loudly when a pylibsrtp release changes its private binding (see pyproject.toml).

    media.srtp calls libsrtp 2's in-place srtp_protect/srtp_unprotect(ctx, buffer, int *len)
    through pylibsrtp._binding; libsrtp 3 takes separate in/out buffers and lengths.
    """
    from pylibsrtp._binding import ffi, lib

    in_place = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"
    for name in ("srtp_protect", "srtp_unprotect", "srtp_protect_rtcp", "srtp_unprotect_rtcp"):
        assert ffi.getctype(ffi.typeof(getattr(lib, name))) == in_place, name
    assert ffi.getctype(ffi.typeof(lib.srtp_create)) == (
        "srtp_err_status_t(*)(struct srtp_ctx_t_ * *, struct srtp_policy_t *)"
    )
    assert {"ssrc", "rtp", "rtcp", "key"} <= {
        name for name, _ in ffi.typeof("srtp_policy_t").fields
    }
    assert lib.srtp_err_status_ok == 0
    check_binding()  # what media.srtp runs at import


def test_a_changed_binding_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        srtp.BINDING_SIGNATURES,
        "srtp_protect",
        "srtp_err_status_t(*)(struct srtp_ctx_t_ *, uint8_t *, size_t, uint8_t *, size_t *)",
    )
    with pytest.raises(ImportError, match="srtp_protect"):
        check_binding()


def test_packets_too_long_for_the_buffer() -> None:
    ours, theirs = pair(SrtpSuite.AES_CM_128_HMAC_SHA1_80)
    with pytest.raises(SrtpError):
        ours.protect(rtp(1, bytes(1400)))  # no room left for the tag
    with pytest.raises(SrtpError):
        ours.protect_rtcp(bytes(1400))
    # the context still works after a refusal, and a long SRTP packet that fits is taken
    long = rtp(2, bytes(1300))
    assert theirs.unprotect(ours.protect(long)) == long
    assert theirs.rejected == 0


def test_contexts_are_independent() -> None:
    """Each context has its own buffers: a result stays valid after the next packet."""
    a, b = pair(SrtpSuite.AES_CM_128_HMAC_SHA1_80)
    first, second = a.protect(rtp(1)), a.protect(rtp(2, b"\x01" * 160))
    assert b.unprotect(first) == rtp(1)
    assert b.unprotect(second) == rtp(2, b"\x01" * 160)
