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


# --- keepalives between messages (RFC 5626 3.5.1, RFC 3261 7.5) -------------------------------


def test_double_crlf_between_messages_is_a_ping_never_a_message() -> None:
    a = request()
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n") == []
    assert (framer.pings, framer.pongs) == (1, 0)
    framer.pings = 0  # the owner answered it
    assert framer.feed(a + b"\r\n\r\n" + a + b"\r\n\r\n\r\n\r\n") == [a, a]
    assert (framer.pings, framer.pongs) == (3, 0)


def test_lone_crlf_is_skipped_and_counted_as_a_pong() -> None:
    a = request(method="BYE")
    framer = StreamFramer()
    assert framer.feed(b"\r\n") == []
    assert (framer.pings, framer.pongs) == (0, 1)
    assert framer.feed(a) == [a]  # the lone CRLF before it (RFC 3261 7.5) does not spoil it
    assert framer.feed(b"\r\n" + a + b"\n") == [a]  # a bare LF counts as a line end too
    assert (framer.pings, framer.pongs) == (0, 3)


def test_crlfs_pair_up_within_one_read_only() -> None:
    framer = StreamFramer()
    for _ in range(3):  # a peer's pongs, one per ping of ours, never add up to a ping
        assert framer.feed(b"\r\n") == []
    assert (framer.pings, framer.pongs) == (0, 3)
    for byte in b"\r\n\r\n":  # so a ping cut between reads is two pongs, like libre
        assert framer.feed(bytes([byte])) == []
    assert (framer.pings, framer.pongs) == (0, 5)
    a = request()
    # a message that begins straight after a lone CRLF; a ping in the read after it
    assert framer.feed(b"\r\n" + a[:10]) == []
    assert framer.feed(a[10:] + b"\r\n\r\n") == [a]
    assert (framer.pings, framer.pongs) == (1, 6)


def test_crlfs_inside_a_message_are_not_keepalives() -> None:
    body = b"\r\n\r\n\r\n\r\n"
    a = request("Content-Type: text/plain\r\n", body)
    framer = StreamFramer()
    out: list[bytes] = []
    for i in range(len(a)):
        out.extend(framer.feed(a[i : i + 1]))
    assert out == [a] and parse_message(out[0]).body == body
    assert (framer.pings, framer.pongs) == (0, 0)
