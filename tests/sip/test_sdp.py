"""SDP parse/serialize and offer/answer against samples in the style of real peers."""

from __future__ import annotations

import pytest

from softswitch.sip.errors import SipError
from softswitch.sip.sdp import (
    MediaDescription,
    Negotiated,
    SdpError,
    SessionDescription,
    SrtpMode,
    is_hold,
    make_answer,
    make_offer,
    mirror_direction,
    negotiated_from_answer,
)


def sdp(text: str) -> bytes:
    return ("\r\n".join(line.strip() for line in text.strip().splitlines()) + "\r\n").encode()


# Captured from baresip 1.0.0 on this machine (`/dial` with g711 loaded).
BARESIP_OFFER = sdp("""
    v=0
    o=- 1780093401 735885775 IN IP4 127.0.0.1
    s=-
    c=IN IP4 127.0.0.1
    t=0 0
    a=tool:baresip 1.0.0
    m=audio 28040 RTP/AVP 0 8 101
    a=rtpmap:0 PCMU/8000
    a=rtpmap:8 PCMA/8000
    a=rtpmap:101 telephone-event/8000
    a=fmtp:101 0-15
    a=sendrecv
    a=label:1
    a=rtcp-rsize
    a=ssrc:4027753998 cname:sip:100@127.0.0.1
    a=minptime:20
    a=ptime:20
""")

# baresip with more codecs enabled and rtcp-mux on, answering from the LAN address.
BARESIP_OPUS_OFFER = sdp("""
    v=0
    o=- 3120463211 2718281828 IN IP4 192.168.1.23
    s=-
    c=IN IP4 192.168.1.23
    t=0 0
    a=tool:baresip 1.0.0
    m=audio 10002 RTP/AVP 96 9 0 8 101
    b=AS:128
    a=rtpmap:96 opus/48000/2
    a=fmtp:96 stereo=1;sprop-stereo=1
    a=rtpmap:9 G722/8000
    a=rtpmap:0 PCMU/8000
    a=rtpmap:8 PCMA/8000
    a=rtpmap:101 telephone-event/8000
    a=fmtp:101 0-15
    a=rtcp-mux
    a=sendrecv
    a=label:1
    a=ptime:20
""")

# Asterisk 18 chan_pjsip style: session name Asterisk, maxptime, GSM in the list.
ASTERISK_OFFER = sdp("""
    v=0
    o=- 1742365436 1742365438 IN IP4 10.1.1.1
    s=Asterisk
    c=IN IP4 10.1.1.1
    t=0 0
    m=audio 17238 RTP/AVP 8 0 3 101
    a=rtpmap:8 PCMA/8000
    a=rtpmap:0 PCMU/8000
    a=rtpmap:3 GSM/8000
    a=rtpmap:101 telephone-event/8000
    a=fmtp:101 0-16
    a=ptime:20
    a=maxptime:150
    a=sendrecv
""")

# A carrier SBC: media-level c= differs from session-level, G.729 first, static PTs
# without rtpmap, telephone-event on PT 100, bandwidth lines.
CARRIER_OFFER = sdp("""
    v=0
    o=Sonus_UAC 512683 389016 IN IP4 203.0.113.5
    s=SIP Media Capabilities
    c=IN IP4 203.0.113.5
    b=AS:80
    t=0 0
    m=audio 31846 RTP/AVP 18 8 0 100
    c=IN IP4 203.0.113.77
    b=AS:80
    a=fmtp:18 annexb=no
    a=rtpmap:100 telephone-event/8000
    a=fmtp:100 0-15
    a=sendrecv
    a=maxptime:20
""")

# sipp 3.6 built-in uac scenario.
SIPP_OFFER = sdp("""
    v=0
    o=user1 53655765 2353687637 IN IP4 127.0.0.1
    s=-
    c=IN IP4 127.0.0.1
    t=0 0
    m=audio 6000 RTP/AVP 0
    a=rtpmap:0 PCMU/8000
""")

# A softphone offering video and SRTP-less audio with rtcp attributes, LF line ends.
LINPHONE_OFFER = (
    "v=0\n"
    "o=alice 2890 2891 IN IP4 198.51.100.9\n"
    "s=Talk\n"
    "c=IN IP4 198.51.100.9\n"
    "t=0 0\n"
    "a=ice-pwd:31ec21eb38b2ec6d36e8dc7b\n"
    "m=video 9078 RTP/AVP 96 97\n"
    "a=rtpmap:96 VP8/90000\n"
    "a=rtpmap:97 H264/90000\n"
    "a=fmtp:97 profile-level-id=42801F\n"
    "a=rtcp-fb:* nack pli\n"
    "m=audio 7078 RTP/AVP 97 98 8 0 101\n"
    "a=rtpmap:97 opus/48000/2\n"
    "a=rtpmap:98 speex/16000\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=rtcp:7079\n"
    "a=rtcp-fb:* trr-int 1000\n"
).encode("ascii")


# --- parsing -----------------------------------------------------------------


def test_parse_baresip_offer() -> None:
    offer = SessionDescription.parse(BARESIP_OFFER)
    assert (offer.origin_user, offer.session_id, offer.version, offer.address) == (
        "-",
        1780093401,
        735885775,
        "127.0.0.1",
    )
    assert offer.connection == "127.0.0.1"
    assert offer.name == "-"
    assert offer.attributes == [("tool", "baresip 1.0.0")]
    [audio] = offer.media
    assert (audio.media, audio.port, audio.proto, audio.formats) == (
        "audio",
        28040,
        "RTP/AVP",
        [0, 8, 101],
    )
    assert audio.rtpmap == {0: ("PCMU", 8000), 8: ("PCMA", 8000), 101: ("telephone-event", 8000)}
    assert audio.fmtp == {101: "0-15"}
    assert audio.ptime == 20
    assert audio.direction == "sendrecv"
    assert audio.connection is None
    assert ("rtcp-rsize", None) in audio.attributes
    assert ("ssrc", "4027753998 cname:sip:100@127.0.0.1") in audio.attributes


def test_parse_carrier_media_level_connection_and_other_lines() -> None:
    offer = SessionDescription.parse(CARRIER_OFFER)
    assert offer.name == "SIP Media Capabilities"
    [audio] = offer.media
    assert offer.connection == "203.0.113.5"
    assert audio.connection == "203.0.113.77"
    assert offer.connection_for(audio) == "203.0.113.77"
    assert audio.rtpmap == {100: ("telephone-event", 8000)}
    assert audio.encoding(8) == ("PCMA", 8000)  # static payload type
    assert audio.fmtp == {18: "annexb=no", 100: "0-15"}
    assert audio.other_lines == ["b=AS:80"]
    assert offer.other_lines == ["b=AS:80"]
    assert ("maxptime", "20") in audio.attributes


def test_parse_channels_and_non_rtp_media() -> None:
    offer = SessionDescription.parse(BARESIP_OPUS_OFFER)
    assert offer.media[0].channels == {96: 2}
    fax = SessionDescription.parse(
        sdp("""
        v=0
        o=- 1 1 IN IP4 192.0.2.1
        s=-
        c=IN IP4 192.0.2.1
        t=0 0
        m=image 4000 udptl t38
        a=T38FaxVersion:0
        a=T38FaxRateManagement:transferredTCF
    """)
    )
    [image] = fax.media
    assert (image.formats, image.raw_formats) == ([], ["t38"])
    assert image.attributes[0] == ("T38FaxVersion", "0")
    assert b"m=image 4000 udptl t38\r\n" in fax.to_bytes()


def test_session_level_direction_applies_to_media_without_their_own() -> None:
    offer = SessionDescription.parse(
        sdp("""
        v=0
        o=- 1 1 IN IP4 192.0.2.1
        s=-
        c=IN IP4 192.0.2.1
        t=0 0
        a=sendonly
        m=audio 4000 RTP/AVP 0
        m=audio 4002 RTP/AVP 0
        a=inactive
    """)
    )
    assert [m.direction for m in offer.media] == ["sendonly", "inactive"]


def test_parse_accepts_str_lf_and_trailing_whitespace() -> None:
    text = BARESIP_OFFER.decode().replace("\r\n", " \n")
    assert SessionDescription.parse(text) == SessionDescription.parse(BARESIP_OFFER)


def test_unknown_line_types_and_repeated_times_preserved() -> None:
    offer = SessionDescription.parse(
        sdp("""
        v=0
        o=- 7 8 IN IP6 2001:db8::1
        s=-
        i=A session
        u=http://example.com/
        e=ops@example.com
        c=IN IP6 2001:db8::1
        t=2873397496 2873404696
        r=604800 3600 0 90000
        t=0 0
        z=2882844526 -1h
        k=prompt
        y=0123456789
        a=recvonly
        m=audio 49170/2 RTP/AVP 0
        i=voice
        c=IN IP6 2001:db8::2
        k=prompt
    """)
    )
    assert offer.timing == "2873397496 2873404696"
    assert offer.media[0].port_count == 2
    out = SessionDescription.parse(offer.to_bytes())
    assert out == offer
    text = offer.to_bytes().decode()
    assert "y=0123456789\r\n" in text and "r=604800 3600 0 90000\r\n" in text
    assert "c=IN IP6 2001:db8::2" in text and "o=- 7 8 IN IP6 2001:db8::1" in text
    # RFC 4566 order: i= then c= then b=/k= inside media, u/e before c at session level.
    assert (
        text.index("i=A session") < text.index("c=IN IP6 2001:db8::1") < text.index("t=2873397496")
    )
    assert (
        text.index("m=audio 49170/2") < text.index("i=voice") < text.index("c=IN IP6 2001:db8::2")
    )


@pytest.mark.parametrize(
    "body",
    [BARESIP_OFFER, BARESIP_OPUS_OFFER, ASTERISK_OFFER, CARRIER_OFFER, SIPP_OFFER, LINPHONE_OFFER],
)
def test_round_trip_is_stable(body: bytes) -> None:
    parsed = SessionDescription.parse(body)
    again = SessionDescription.parse(parsed.to_bytes())
    assert again == parsed
    assert again.to_bytes() == parsed.to_bytes()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n",
        b"o=- 1 1 IN IP4 a\r\n",  # no v=
        b"v=1\r\no=- 1 1 IN IP4 a\r\n",
        b"v=0\r\ns=-\r\n",  # no o=
        b"v=0\r\no=- x 1 IN IP4 a\r\n",
        b"v=0\r\no=- 1 1 IN IP4\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\no=- 1 1 IN IP4 a\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nc=IN IP4\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nc=XX IP4 a\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 70000 RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 4000 RTP/AVP x\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 4000 RTP/AVP 128\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:zz PCMU/8000\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 4000 RTP/AVP 0\r\na=fmtp:x 0-15\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nthis is not sdp\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nM=audio 4000 RTP/AVP 0\r\n",
        b"v=0\r\n" + b"a=x\r\n" * 20000,
    ],
)
def test_malformed_raises_sdp_error(body: bytes) -> None:
    with pytest.raises(SdpError):
        SessionDescription.parse(body)


def test_sdp_error_is_sip_error_with_488() -> None:
    assert issubclass(SdpError, SipError)
    assert SdpError("x").status == 488


def test_bad_ptime_kept_as_attribute() -> None:
    body = SIPP_OFFER + b"a=ptime:abc\r\n"
    [audio] = SessionDescription.parse(body).media
    assert audio.ptime is None and ("ptime", "abc") in audio.attributes
    assert SessionDescription.parse(SIPP_OFFER + b"a=ptime:30.0\r\n").media[0].ptime == 30


# --- offer -------------------------------------------------------------------


def test_make_offer_is_what_peers_expect() -> None:
    offer = make_offer("192.0.2.10", 20000, session_id=42)
    assert offer.to_bytes().decode() == (
        "v=0\r\n"
        "o=- 42 1 IN IP4 192.0.2.10\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.10\r\n"
        "t=0 0\r\n"
        "m=audio 20000 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"
    )


@pytest.mark.parametrize("srtp", [SrtpMode.OFF, SrtpMode.OPTIONAL, SrtpMode.MANDATORY])
def test_an_offer_as_built_reads_an_answer_as_its_bytes_parsed_back_do(srtp: SrtpMode) -> None:
    """The switch keeps the offers it built (Channel.offered) and reads the answer
    against them instead of parsing its own SDP back: the two must agree."""
    keys = {"AES_CM_128_HMAC_SHA1_80": "inline:" + "C" * 40}
    built = make_offer("192.0.2.10", 20000, session_id=42, srtp=srtp, keys=keys)
    parsed = SessionDescription.parse(built.to_bytes())
    answer, _ = make_answer(parsed, "192.0.2.50", 40000, session_id=7, srtp=srtp, keys=keys)
    answer = SessionDescription.parse(answer.to_bytes())
    assert negotiated_from_answer(built, answer, srtp=srtp) == negotiated_from_answer(
        parsed, answer, srtp=srtp
    )


def test_make_offer_options() -> None:
    offer = make_offer(
        "::1", 30000, codecs=("PCMA",), dtmf_pt=None, session_id=1, version=3, direction="sendonly"
    )
    [audio] = offer.media
    assert audio.formats == [8] and audio.direction == "sendonly"
    assert b"c=IN IP6 ::1" in offer.to_bytes() and b"o=- 1 3 IN IP6 ::1" in offer.to_bytes()
    with pytest.raises(SdpError):
        make_offer("a", 1, codecs=("G729",), session_id=1)
    with pytest.raises(SdpError):
        make_offer("a", 1, direction="both", session_id=1)
    with pytest.raises(SdpError):
        make_offer("a", 1, dtmf_pt=8, session_id=1)


# --- answer ------------------------------------------------------------------


def answer_to(body: bytes, **kwargs: object) -> tuple[SessionDescription, Negotiated]:
    return make_answer(SessionDescription.parse(body), "192.0.2.50", 40000, session_id=7, **kwargs)  # type: ignore[arg-type]


def test_answer_baresip() -> None:
    answer, negotiated = answer_to(BARESIP_OFFER)
    assert negotiated == Negotiated(
        address="127.0.0.1",
        port=28040,
        codec="PCMU",
        payload_type=0,
        dtmf_payload_type=101,
        direction="sendrecv",
    )
    [audio] = answer.media
    assert audio.formats == [0, 101]
    assert audio.port == 40000 and answer.connection == "192.0.2.50"
    assert audio.fmtp[101] == "0-16"
    assert ("rtcp-mux", None) not in audio.attributes  # we do not multiplex RTCP


def test_answer_uses_our_preference_not_theirs() -> None:
    _, negotiated = answer_to(ASTERISK_OFFER)  # they prefer PCMA
    assert (negotiated.codec, negotiated.payload_type) == ("PCMU", 0)
    _, negotiated = answer_to(BARESIP_OFFER, codecs=("PCMA", "PCMU"))
    assert (negotiated.codec, negotiated.payload_type) == ("PCMA", 8)


def test_answer_carrier_static_pts_and_offer_dtmf_pt() -> None:
    answer, negotiated = answer_to(CARRIER_OFFER)
    assert negotiated == Negotiated(
        address="203.0.113.77",
        port=31846,
        codec="PCMU",
        payload_type=0,
        dtmf_payload_type=100,
        direction="sendrecv",
    )
    assert answer.media[0].formats == [0, 100]
    assert answer.media[0].rtpmap[100] == ("telephone-event", 8000)


def test_answer_sipp_without_telephone_event() -> None:
    answer, negotiated = answer_to(SIPP_OFFER)
    assert (negotiated.codec, negotiated.dtmf_payload_type) == ("PCMU", None)
    assert answer.media[0].formats == [0]
    assert answer.media[0].fmtp == {}


def test_answer_rejects_video_keeps_order_and_accepts_audio() -> None:
    answer, negotiated = answer_to(LINPHONE_OFFER)
    video, audio = answer.media
    assert (video.media, video.port, video.formats) == ("video", 0, [96, 97])
    assert (audio.port, audio.formats) == (40000, [0, 101])
    assert (negotiated.codec, negotiated.port) == ("PCMU", 7078)
    reparsed = SessionDescription.parse(answer.to_bytes())
    assert [m.port for m in reparsed.media] == [0, 40000]


def test_answer_dynamic_pt_for_g711() -> None:
    offer = SIPP_OFFER.replace(b"RTP/AVP 0", b"RTP/AVP 112").replace(
        b"rtpmap:0 PCMU", b"rtpmap:112 pcmu"
    )
    _, negotiated = answer_to(offer)
    assert (negotiated.codec, negotiated.payload_type) == ("PCMU", 112)


def test_answer_dynamic_telephone_event_at_other_clock_is_ignored() -> None:
    offer = BARESIP_OPUS_OFFER.replace(b"101 telephone-event/8000", b"101 telephone-event/48000")
    answer, negotiated = answer_to(offer)
    assert negotiated.dtmf_payload_type is None
    assert answer.media[0].formats == [0]


def test_answer_rejects_port_zero_stream_and_uses_next() -> None:
    offer = SessionDescription.parse(BARESIP_OFFER)
    second = SessionDescription.parse(BARESIP_OFFER).media[0]
    second.port = 28050
    offer.media[0].port = 0
    offer.media.append(second)
    answer, negotiated = make_answer(offer, "192.0.2.50", 40000, session_id=1)
    assert [m.port for m in answer.media] == [0, 40000]
    assert answer.media[0].formats == [0, 8, 101]
    assert negotiated.port == 28050


def test_answer_only_one_audio_stream() -> None:
    offer = SessionDescription.parse(BARESIP_OFFER)
    offer.media.append(SessionDescription.parse(BARESIP_OFFER).media[0])
    answer, _ = make_answer(offer, "192.0.2.50", 40000, session_id=1)
    assert [m.port for m in answer.media] == [40000, 0]


@pytest.mark.parametrize(
    "offered,answered",
    [
        ("sendrecv", "sendrecv"),
        ("sendonly", "recvonly"),
        ("recvonly", "sendonly"),
        ("inactive", "inactive"),
    ],
)
def test_answer_mirrors_direction(offered: str, answered: str) -> None:
    body = BARESIP_OFFER.replace(b"a=sendrecv", f"a={offered}".encode())
    answer, negotiated = answer_to(body)
    assert answer.media[0].direction == answered == negotiated.direction
    assert f"a={answered}\r\n".encode() in answer.to_bytes()
    assert is_hold(offered) == (offered in ("sendonly", "inactive"))


def test_old_style_hold_with_zero_connection() -> None:
    body = ASTERISK_OFFER.replace(b"c=IN IP4 10.1.1.1", b"c=IN IP4 0.0.0.0")
    offer = SessionDescription.parse(body)
    assert offer.effective_direction(offer.media[0]) == "sendonly"
    assert is_hold(offer.effective_direction(offer.media[0]))
    answer, negotiated = make_answer(offer, "192.0.2.50", 40000, session_id=1)
    assert answer.media[0].direction == negotiated.direction == "recvonly"
    assert negotiated.address == "0.0.0.0"
    recvonly = SessionDescription.parse(body.replace(b"a=sendrecv", b"a=recvonly"))
    assert recvonly.effective_direction(recvonly.media[0]) == "inactive"


def test_no_common_codec_raises() -> None:
    offer = SIPP_OFFER.replace(b"RTP/AVP 0", b"RTP/AVP 18").replace(
        b"rtpmap:0 PCMU", b"rtpmap:18 G729"
    )
    with pytest.raises(SdpError):
        answer_to(offer)
    with pytest.raises(SdpError):  # SRTP only
        answer_to(SIPP_OFFER.replace(b"RTP/AVP", b"RTP/SAVP"))
    with pytest.raises(SdpError):  # every stream rejected
        answer_to(SIPP_OFFER.replace(b"audio 6000", b"audio 0"))
    with pytest.raises(SdpError):
        answer_to(b"v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\n")


def test_answer_needs_a_connection_address() -> None:
    with pytest.raises(SdpError):
        answer_to(SIPP_OFFER.replace(b"c=IN IP4 127.0.0.1\r\n", b""))


def test_static_pt_overridden_by_rtpmap() -> None:
    # A peer that (wrongly) maps PT 0 to something else must not be taken for PCMU.
    offer = SIPP_OFFER.replace(b"rtpmap:0 PCMU/8000", b"rtpmap:0 G729/8000")
    with pytest.raises(SdpError):
        answer_to(offer)


# --- offerer side ------------------------------------------------------------


def test_negotiated_from_answer_round_trip() -> None:
    offer = make_offer("192.0.2.10", 20000, session_id=42)
    answer_sdp, answerer_view = make_answer(
        SessionDescription.parse(offer.to_bytes()),
        "198.51.100.3",
        31000,
        codecs=("PCMA", "PCMU"),
        session_id=9,
    )
    ours = negotiated_from_answer(offer, SessionDescription.parse(answer_sdp.to_bytes()))
    assert ours == Negotiated(
        address="198.51.100.3",
        port=31000,
        codec="PCMA",
        payload_type=8,
        dtmf_payload_type=101,
        direction="sendrecv",
    )
    assert answerer_view.address == "192.0.2.10" and answerer_view.port == 20000


def test_negotiated_from_asterisk_style_answer() -> None:
    offer = make_offer("192.0.2.10", 20000, session_id=42)
    answer = SessionDescription.parse(
        sdp("""
        v=0
        o=- 1742365500 1742365500 IN IP4 10.1.1.1
        s=Asterisk
        c=IN IP4 10.1.1.1
        t=0 0
        m=audio 11862 RTP/AVP 8 101
        a=rtpmap:8 PCMA/8000
        a=rtpmap:101 telephone-event/8000
        a=fmtp:101 0-16
        a=ptime:20
        a=maxptime:150
        a=sendrecv
    """)
    )
    assert negotiated_from_answer(offer, answer) == Negotiated(
        address="10.1.1.1",
        port=11862,
        codec="PCMA",
        payload_type=8,
        dtmf_payload_type=101,
        direction="sendrecv",
    )


def test_negotiated_from_pyvoip_style_answer_without_rtpmap_for_dtmf() -> None:
    offer = make_offer("192.0.2.10", 20000, session_id=42)
    answer = SessionDescription.parse(
        sdp("""
        v=0
        o=pyVoIP 5 7 IN IP4 127.0.0.1
        s=pyVoIP 1.6.8
        c=IN IP4 127.0.0.1
        t=0 0
        m=audio 10000 RTP/AVP 0 101
        a=rtpmap:0 PCMU/8000
        a=ptime:20
        a=maxptime:150
        a=sendrecv
    """)
    )
    negotiated = negotiated_from_answer(offer, answer)
    assert (negotiated.codec, negotiated.dtmf_payload_type, negotiated.port) == ("PCMU", 101, 10000)


@pytest.mark.parametrize(
    "ours,their_answer,expected",
    [
        ("sendrecv", "sendrecv", "sendrecv"),
        ("sendrecv", "recvonly", "sendonly"),  # they hold us... from their side: they only receive
        ("sendrecv", "sendonly", "recvonly"),
        ("sendonly", "recvonly", "sendonly"),  # we put them on hold
        ("sendonly", "sendrecv", "sendonly"),  # a sloppy answer cannot widen our offer
        ("inactive", "inactive", "inactive"),
    ],
)
def test_offerer_direction(ours: str, their_answer: str, expected: str) -> None:
    offer = make_offer("192.0.2.10", 20000, session_id=1, direction=ours)
    answer = SessionDescription.parse(
        SIPP_OFFER.replace(b"a=rtpmap:0 PCMU/8000", f"a={their_answer}".encode())
    )
    assert negotiated_from_answer(offer, answer).direction == expected


def test_negotiated_from_answer_with_zero_connection_is_hold() -> None:
    offer = make_offer("192.0.2.10", 20000, session_id=1)
    answer = SessionDescription.parse(
        SIPP_OFFER.replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 0.0.0.0")
    )
    assert negotiated_from_answer(offer, answer).direction == "recvonly"


def test_negotiated_from_rejecting_answer_raises() -> None:
    offer = make_offer("192.0.2.10", 20000, session_id=1)
    with pytest.raises(SdpError):
        negotiated_from_answer(
            offer, SessionDescription.parse(SIPP_OFFER.replace(b"audio 6000", b"audio 0"))
        )
    g729 = SIPP_OFFER.replace(b"RTP/AVP 0", b"RTP/AVP 18").replace(
        b"rtpmap:0 PCMU", b"rtpmap:18 G729"
    )
    with pytest.raises(SdpError):
        negotiated_from_answer(offer, SessionDescription.parse(g729))


def test_mirror_direction() -> None:
    assert [mirror_direction(d) for d in ("sendrecv", "sendonly", "recvonly", "inactive")] == [
        "sendrecv",
        "recvonly",
        "sendonly",
        "inactive",
    ]


def test_media_description_find_format() -> None:
    media = MediaDescription(
        media="audio",
        port=1,
        proto="RTP/AVP",
        formats=[96, 8],
        rtpmap={96: ("Telephone-Event", 8000)},
    )
    assert media.find_format("telephone-event") == 96
    assert media.find_format("PCMA") == 8
    assert media.find_format("PCMU") is None


def test_audio_address_is_the_first_active_audio_streams_connection() -> None:
    body = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=video 0 RTP/AVP 31\r\n"
        "m=audio 4000 RTP/AVP 0\r\nc=IN IP6 ::1\r\n"
    )
    assert SessionDescription.parse(body).audio_address() == "::1"
    session_level = body.replace("c=IN IP6 ::1\r\n", "")
    assert SessionDescription.parse(session_level).audio_address() == "127.0.0.1"
    no_audio = session_level.replace("m=audio 4000", "m=audio 0")
    assert SessionDescription.parse(no_audio).audio_address() is None


def test_an_ipv6_offer_and_answer_name_ip6_in_o_and_c() -> None:
    offer = make_offer("::1", 4000, session_id=1)
    text = offer.to_bytes().decode()
    assert "o=- 1 1 IN IP6 ::1\r\n" in text and "c=IN IP6 ::1\r\n" in text
    answer, negotiated = make_answer(SessionDescription.parse(text), "::1", 5000, session_id=2)
    assert negotiated.address == "::1"
    assert "c=IN IP6 ::1\r\n" in answer.to_bytes().decode()


# baresip 1.0 with audio_codecs=opus/48000/2,G722/16000/1 (telephone-event at 8000 only)
WIDEBAND_OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 96 9 101\r\n"
    "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"
)


def test_offer_lists_wideband_codecs_with_an_event_per_clock() -> None:
    offer = make_offer("127.0.0.1", 4000, codecs=("OPUS", "G722", "PCMU"), session_id=1)
    media = offer.media[0]
    assert media.formats == [111, 9, 0, 101, 102]
    assert media.rtpmap[111] == ("opus", 48000) and media.channels[111] == 2
    assert media.fmtp[111] == "useinbandfec=1"
    assert media.rtpmap[9] == ("G722", 8000)  # RFC 3551's clock for a 16 kHz codec
    assert media.rtpmap[101] == ("telephone-event", 48000)
    assert media.rtpmap[102] == ("telephone-event", 8000)


def test_answer_picks_our_preference_under_the_offered_dynamic_pt() -> None:
    offer = SessionDescription.parse(WIDEBAND_OFFER)
    answer, negotiated = make_answer(
        offer, "127.0.0.1", 5000, codecs=("OPUS", "G722", "PCMU"), session_id=2
    )
    assert (negotiated.codec, negotiated.payload_type) == ("OPUS", 96)
    assert negotiated.dtmf_payload_type == 101  # the /8000 event, taken beside Opus
    media = answer.media[0]
    assert media.formats == [96, 101]
    assert media.rtpmap[96] == ("opus", 48000) and media.fmtp[96] == "useinbandfec=1"
    assert media.rtpmap[101] == ("telephone-event", 8000)  # echoed at the offer's clock
    _, g722 = make_answer(offer, "127.0.0.1", 5000, codecs=("G722", "OPUS"), session_id=2)
    assert (g722.codec, g722.payload_type) == ("G722", 9)
    with pytest.raises(SdpError):  # a trunk's G.711 list finds nothing here
        make_answer(offer, "127.0.0.1", 5000, codecs=("PCMU", "PCMA"), session_id=2)


def test_offerer_reads_an_opus_answer() -> None:
    offer = make_offer("127.0.0.1", 4000, codecs=("OPUS", "PCMU"), session_id=1)
    answer = SessionDescription.parse(
        "v=0\r\no=- 3 3 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 41000 RTP/AVP 111 101\r\na=rtpmap:111 opus/48000/2\r\n"
        "a=rtpmap:101 telephone-event/48000\r\na=sendrecv\r\n"
    )
    negotiated = negotiated_from_answer(offer, answer)
    assert (negotiated.codec, negotiated.payload_type, negotiated.dtmf_payload_type) == (
        "OPUS",
        111,
        101,
    )
