"""StreamFramer: cutting a TCP byte stream into messages (RFC 3261 18.3)."""

from __future__ import annotations

import pytest

from softswitch.sip.errors import SipParseError
from softswitch.sip.framing import StreamFramer
from softswitch.sip.parser import parse_message
from tests.sip.samples import request

# --- StreamFramer ----------------------------------------------------------------------------


def test_framer_splits_a_stream_fed_byte_by_byte() -> None:
    a = request("Content-Type: text/plain\r\n", b"first body")
    b = request(method="BYE")
    stream = b"\r\n\r\n" + a + b"\r\n" + b + b"\r\n\r\n"
    framer = StreamFramer()
    out: list[bytes] = []
    for i in range(len(stream)):
        out.extend(framer.feed(stream[i : i + 1]))
    assert out == [a, b]
    assert parse_message(out[0]).body == b"first body"


def test_framer_several_messages_in_one_chunk_and_compact_length() -> None:
    a = request("Content-Type: text/plain\r\n", b"x" * 100).replace(b"Content-Length:", b"l:")
    framer = StreamFramer()
    assert framer.feed(a * 3) == [a, a, a]
    assert framer.feed(b"") == []


def test_framer_waits_for_the_body() -> None:
    a = request("Content-Type: text/plain\r\n", b"0123456789")
    framer = StreamFramer()
    assert framer.feed(a[:-3]) == []
    assert framer.feed(a[-3:]) == [a]


@pytest.mark.parametrize(
    "data",
    [
        request(cl=False),
        request().replace(b"Content-Length: 0", b"Content-Length: -4"),
        request().replace(b"Content-Length: 0", b"Content-Length: 0\r\nl: 5"),
        request().replace(b"Content-Length: 0", b"Content-Length: 99999999999"),
    ],
)
def test_framer_rejects_bad_length_and_stays_broken(data: bytes) -> None:
    framer = StreamFramer()
    with pytest.raises(SipParseError):
        framer.feed(data)
    with pytest.raises(SipParseError):
        framer.feed(request())


def test_framer_size_cap() -> None:
    framer = StreamFramer(max_size=2000)
    with pytest.raises(SipParseError) as info:
        framer.feed(request("Content-Type: text/plain\r\n", b"x" * 3000))
    assert info.value.status == 513
    endless = StreamFramer(max_size=2000)
    with pytest.raises(SipParseError):
        endless.feed(b"INVITE sip:a@b SIP/2.0\r\n" + b"X-Filler: yyyyyyyyyy\r\n" * 200)
