"""SDES crypto lines (RFC 4568) in SDP and SRTP offer/answer under each policy."""

from __future__ import annotations

import pytest

from softswitch.sip.sdp import (
    Crypto,
    NegotiatedCrypto,
    SdpError,
    SessionDescription,
    SrtpMode,
    make_answer,
    make_offer,
    negotiated_from_answer,
)

KEY_80 = "inline:" + "A" * 40
KEY_32 = "inline:" + "B" * 40
OURS = {"AES_CM_128_HMAC_SHA1_80": "inline:" + "C" * 40, "AES_CM_128_HMAC_SHA1_32": KEY_32}


def sdp(text: str) -> bytes:
    return ("\r\n".join(line.strip() for line in text.strip().splitlines()) + "\r\n").encode()


def offer(proto: str, *crypto: str) -> SessionDescription:
    lines = "\n".join(f"a=crypto:{line}" for line in crypto)
    return SessionDescription.parse(
        sdp(f"""
        v=0
        o=- 1 1 IN IP4 192.0.2.7
        s=-
        c=IN IP4 192.0.2.7
        t=0 0
        m=audio 30000 {proto} 0 101
        a=rtpmap:101 telephone-event/8000
        {lines}
        a=sendrecv
        """)
    )


# The shape of an offer from baresip with mediaenc=srtp-mand: RTP/SAVP, _32 listed first.
BARESIP_SRTP = offer(
    "RTP/SAVP",
    f"1 AES_CM_128_HMAC_SHA1_32 {KEY_32}",
    f"2 AES_CM_128_HMAC_SHA1_80 {KEY_80}",
)


def answer(
    described: SessionDescription, mode: SrtpMode, usable=None
) -> tuple[SessionDescription, object]:
    return make_answer(
        described, "192.0.2.9", 40000, session_id=1, srtp=mode, keys=OURS, usable=usable
    )


def test_crypto_lines_parse_and_serialize() -> None:
    parsed = BARESIP_SRTP.media[0]
    assert parsed.proto == "RTP/SAVP"
    assert parsed.crypto == [
        Crypto(1, "AES_CM_128_HMAC_SHA1_32", KEY_32),
        Crypto(2, "AES_CM_128_HMAC_SHA1_80", KEY_80),
    ]
    assert ("crypto", None) not in parsed.attributes
    again = SessionDescription.parse(BARESIP_SRTP.to_bytes())
    assert again.media[0].crypto == parsed.crypto
    with_params = Crypto.parse("3 AES_CM_128_HMAC_SHA1_80 inline:abc|2^20 UNENCRYPTED_SRTCP")
    assert with_params == Crypto(
        3, "AES_CM_128_HMAC_SHA1_80", "inline:abc|2^20", ["UNENCRYPTED_SRTCP"]
    )
    assert str(with_params) == "3 AES_CM_128_HMAC_SHA1_80 inline:abc|2^20 UNENCRYPTED_SRTCP"


def test_malformed_crypto_line_is_kept_opaque() -> None:
    parsed = offer("RTP/AVP", "x AES_CM_128_HMAC_SHA1_80 " + KEY_80).media[0]
    assert parsed.crypto == []
    assert ("crypto", "x AES_CM_128_HMAC_SHA1_80 " + KEY_80) in parsed.attributes


def test_offer_carries_our_suites() -> None:
    mandatory = make_offer("192.0.2.9", 40000, session_id=1, srtp=SrtpMode.MANDATORY, keys=OURS)
    media = SessionDescription.parse(mandatory.to_bytes()).media[0]
    assert media.proto == "RTP/SAVP"
    assert [(c.tag, c.suite, c.key_params) for c in media.crypto] == [
        (1, "AES_CM_128_HMAC_SHA1_80", OURS["AES_CM_128_HMAC_SHA1_80"]),
        (2, "AES_CM_128_HMAC_SHA1_32", KEY_32),
    ]
    optional = make_offer("192.0.2.9", 40000, session_id=1, srtp=SrtpMode.OPTIONAL, keys=OURS)
    assert optional.media[0].proto == "RTP/AVP" and len(optional.media[0].crypto) == 2
    plain = make_offer("192.0.2.9", 40000, session_id=1)
    assert plain.media[0].proto == "RTP/AVP" and plain.media[0].crypto == []
    assert b"crypto" not in plain.to_bytes()
    with pytest.raises(SdpError):
        make_offer("192.0.2.9", 40000, session_id=1, srtp=SrtpMode.MANDATORY, keys={})


@pytest.mark.parametrize("mode", [SrtpMode.OPTIONAL, SrtpMode.MANDATORY])
def test_answer_picks_first_offered_suite_we_support_with_our_key(mode: SrtpMode) -> None:
    described, negotiated = answer(BARESIP_SRTP, mode)
    media = described.media[0]
    assert media.proto == "RTP/SAVP"
    assert media.crypto == [Crypto(1, "AES_CM_128_HMAC_SHA1_32", OURS["AES_CM_128_HMAC_SHA1_32"])]
    assert negotiated.crypto == NegotiatedCrypto(
        "AES_CM_128_HMAC_SHA1_32", OURS["AES_CM_128_HMAC_SHA1_32"], KEY_32
    )


def test_answer_skips_unknown_suites_and_unusable_keys() -> None:
    mixed = offer(
        "RTP/SAVP",
        f"1 F8_128_HMAC_SHA1_80 {KEY_80}",
        f"2 AES_CM_128_HMAC_SHA1_32 {KEY_32}|2^20|1:4",
        f"3 AES_CM_128_HMAC_SHA1_80 {KEY_80} UNENCRYPTED_SRTP",
        f"4 AES_CM_128_HMAC_SHA1_80 {KEY_80}",
    )
    described, negotiated = answer(
        mixed, SrtpMode.MANDATORY, usable=lambda suite, key: "|" not in key
    )
    assert [c.tag for c in described.media[0].crypto] == [4]
    assert negotiated.crypto is not None and negotiated.crypto.remote_key_params == KEY_80


def test_unknown_suite_with_srtp_mandatory_is_488() -> None:
    unknown = offer("RTP/SAVP", f"1 AEAD_AES_256_GCM {KEY_80}")
    with pytest.raises(SdpError, match="SRTP") as error:
        answer(unknown, SrtpMode.MANDATORY)
    assert error.value.status == 488
    # and the same under "optional": a secure profile we cannot key is refused too
    with pytest.raises(SdpError, match="SRTP"):
        answer(unknown, SrtpMode.OPTIONAL)


def test_plain_offer_under_each_mode() -> None:
    plain = offer("RTP/AVP")
    with pytest.raises(SdpError, match="SRTP"):
        answer(plain, SrtpMode.MANDATORY)
    described, negotiated = answer(plain, SrtpMode.OPTIONAL)
    assert negotiated.crypto is None and described.media[0].crypto == []
    # best-effort SRTP (RTP/AVP with crypto lines) is taken up when SRTP is enabled...
    best_effort = offer("RTP/AVP", f"1 AES_CM_128_HMAC_SHA1_80 {KEY_80}")
    described, negotiated = answer(best_effort, SrtpMode.OPTIONAL)
    assert described.media[0].proto == "RTP/AVP" and negotiated.crypto is not None
    # ...and ignored when it is off, as before
    described, negotiated = make_answer(best_effort, "192.0.2.9", 40000, session_id=1)
    assert negotiated.crypto is None and described.media[0].crypto == []


def test_srtp_off_refuses_a_savp_only_offer() -> None:
    with pytest.raises(SdpError):
        make_answer(BARESIP_SRTP, "192.0.2.9", 40000, session_id=1)


def test_offerer_takes_the_answered_key() -> None:
    ours = make_offer("192.0.2.9", 40000, session_id=1, srtp=SrtpMode.MANDATORY, keys=OURS)
    their_answer, _ = make_answer(
        SessionDescription.parse(ours.to_bytes()),
        "192.0.2.7",
        30000,
        session_id=2,
        srtp=SrtpMode.OPTIONAL,
        keys={"AES_CM_128_HMAC_SHA1_32": KEY_80},
    )
    assert their_answer.media[0].crypto == [Crypto(2, "AES_CM_128_HMAC_SHA1_32", KEY_80)]
    negotiated = negotiated_from_answer(ours, their_answer, srtp=SrtpMode.MANDATORY)
    assert negotiated.crypto == NegotiatedCrypto("AES_CM_128_HMAC_SHA1_32", KEY_32, KEY_80)


def test_offerer_refuses_bad_or_missing_answer_crypto() -> None:
    ours = make_offer("192.0.2.9", 40000, session_id=1, srtp=SrtpMode.OPTIONAL, keys=OURS)
    plain_answer, _ = make_answer(
        SessionDescription.parse(ours.to_bytes()), "192.0.2.7", 30000, session_id=2
    )
    assert negotiated_from_answer(ours, plain_answer, srtp=SrtpMode.OPTIONAL).crypto is None
    with pytest.raises(SdpError):
        negotiated_from_answer(ours, plain_answer, srtp=SrtpMode.MANDATORY)
    wrong_tag = SessionDescription.parse(plain_answer.to_bytes())
    wrong_tag.media[0].crypto = [Crypto(9, "AES_CM_128_HMAC_SHA1_80", KEY_80)]
    with pytest.raises(SdpError, match="tag"):
        negotiated_from_answer(ours, wrong_tag, srtp=SrtpMode.OPTIONAL)
    wrong_tag.media[0].crypto = [Crypto(1, "AES_CM_128_HMAC_SHA1_80", KEY_80)]
    with pytest.raises(SdpError, match="cannot be used"):
        negotiated_from_answer(
            ours, wrong_tag, srtp=SrtpMode.OPTIONAL, usable=lambda suite, key: False
        )
