"""Fuzzing the SDP parser and offer/answer: only SdpError may come out."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from softswitch.sip.sdp import (
    DIRECTIONS,
    SdpError,
    SessionDescription,
    make_answer,
    make_offer,
    negotiated_from_answer,
)
from tests.sip.test_sdp import (
    ASTERISK_OFFER,
    BARESIP_OFFER,
    BARESIP_OPUS_OFFER,
    CARRIER_OFFER,
    LINPHONE_OFFER,
    SIPP_OFFER,
)

SAMPLES = [
    BARESIP_OFFER,
    BARESIP_OPUS_OFFER,
    ASTERISK_OFFER,
    CARRIER_OFFER,
    SIPP_OFFER,
    LINPHONE_OFFER,
]
FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_pieces = st.sampled_from(
    [
        "0",
        "8",
        "101",
        "96",
        "127",
        "128",
        "-1",
        "65535",
        "65536",
        "4000/2",
        "4000/0",
        "PCMU/8000",
        "pcma/8000",
        "telephone-event/8000",
        "opus/48000/2",
        "G729",
        "IN",
        "IP4",
        "IP6",
        "0.0.0.0",
        "127.0.0.1",
        "::1",
        "RTP/AVP",
        "RTP/SAVP",
        "udptl",
        "t38",
        "audio",
        "video",
        "image",
        "*",
        "sendonly",
        "recvonly",
        "inactive",
        "sendrecv",
        "0-16",
        "20",
        "20.5",
        "nan",
        "inf",
        "",
        " ",
        ":",
        "/",
        "=",
        "\t",
        "é",
        "\x00",
        "9" * 50,
    ]
)
_values = st.lists(st.one_of(_pieces, st.text(max_size=8)), max_size=6).map(" ".join)
_line = st.one_of(
    st.tuples(st.sampled_from("vosictmabkrzeupyAM1 "), _values).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.tuples(
        st.sampled_from(["rtpmap", "fmtp", "ptime", *DIRECTIONS, "rtcp-mux", "x"]),
        st.sampled_from(["", ":"]),
        _values,
    ).map(lambda t: f"a={t[0]}{t[1]}{t[2]}"),
    st.tuples(_pieces, _pieces, _pieces).map(lambda t: f"m=audio {t[0]} RTP/AVP {t[1]} {t[2]}"),
    st.tuples(_pieces, _pieces).map(lambda t: f"c=IN {t[0]} {t[1]}"),
    st.text(max_size=30),
)


@st.composite
def sdp_like(draw: st.DrawFn) -> bytes:
    head = draw(st.sampled_from([["v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-", "t=0 0"], ["v=0"], []]))
    lines = head + draw(st.lists(_line, max_size=25))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    return newline.join(lines).encode("utf-8", "surrogatepass")


@st.composite
def mutated_sample(draw: st.DrawFn) -> bytes:
    lines = draw(st.sampled_from(SAMPLES)).decode().replace("\r\n", "\n").split("\n")
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        operation = draw(
            st.sampled_from(["delete", "duplicate", "insert", "truncate", "replace_token", "swap"])
        )
        if operation == "delete":
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, lines[index])
        elif operation == "insert":
            lines.insert(index, draw(_line))
        elif operation == "truncate":
            lines[index] = lines[index][: draw(st.integers(0, len(lines[index])))]
        elif operation == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        else:
            tokens = lines[index].split(" ")
            tokens[draw(st.integers(0, len(tokens) - 1))] = draw(_pieces)
            lines[index] = " ".join(tokens)
    return "\r\n".join(lines).encode("utf-8", "surrogatepass")


def exercise(body: bytes | str) -> None:
    """Parse, re-serialize, answer and use as an answer; nothing but SdpError may escape."""
    try:
        parsed = SessionDescription.parse(body)
    except SdpError:
        return
    wire = parsed.to_bytes()
    again = SessionDescription.parse(wire)
    # Serializing is idempotent and keeps what offer/answer looks at.
    assert again.to_bytes() == wire
    assert [
        (m.media, m.port, m.proto, m.formats, m.rtpmap, m.fmtp, m.direction, m.connection, m.ptime)
        for m in again.media
    ] == [
        (m.media, m.port, m.proto, m.formats, m.rtpmap, m.fmtp, m.direction, m.connection, m.ptime)
        for m in parsed.media
    ]
    assert (again.connection, again.session_id, again.version) == (
        parsed.connection,
        parsed.session_id,
        parsed.version,
    )
    try:
        answer, negotiated = make_answer(parsed, "192.0.2.9", 40000, session_id=1)
    except SdpError:
        pass
    else:
        assert negotiated.codec in ("PCMU", "PCMA")
        assert len(answer.media) == len(parsed.media)
        assert SessionDescription.parse(answer.to_bytes()).to_bytes() == answer.to_bytes()
    try:
        negotiated = negotiated_from_answer(make_offer("192.0.2.9", 40000, session_id=1), parsed)
    except SdpError:
        pass
    else:
        assert negotiated.codec in ("PCMU", "PCMA")
        assert negotiated.direction in DIRECTIONS


@FUZZ
@given(st.binary(max_size=1500))
def test_random_bytes(body: bytes) -> None:
    exercise(body)


@FUZZ
@given(st.text(max_size=1500))
def test_random_text(body: str) -> None:
    exercise(body)


@FUZZ
@given(sdp_like())
def test_grammar_shaped(body: bytes) -> None:
    exercise(body)


@FUZZ
@given(mutated_sample())
def test_mutated_real_samples(body: bytes) -> None:
    exercise(body)


def test_huge_numbers_are_sdp_errors() -> None:
    for body in (
        b"v=0\r\no=- " + b"9" * 5000 + b" 1 IN IP4 a\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:" + b"9" * 400 + b"\r\n",
        b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 X/"
        + b"9" * 5000
        + b"\r\n",
    ):
        exercise(body)


def test_unencodable_text_is_sdp_error() -> None:
    exercise("v=0\r\no=- 1 1 IN IP4 a\r\ns=\ud800\r\n")
