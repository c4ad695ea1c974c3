"""SIP messages: headers, parsing, framing, serialisation, responses (RFC 3261 7, 8.2.6, 18.3, 20).

The corpus under tests/sip/corpus/{valid,invalid}/*.sip holds one UDP datagram
per file, byte-exact: CRLF line endings (a .gitattributes there marks them
-text so git never converts them).  tests/sip/corpus/make_corpus.py wrote
them and documents what each case is about; rerun it after editing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from softswitch.sip.address import Address
from softswitch.sip.errors import SipParseError
from softswitch.sip.framing import StreamFramer
from softswitch.sip.headers import Headers, canonical_name
from softswitch.sip.message import (
    REASON_PHRASES,
    Request,
    Response,
    new_branch,
    new_call_id,
    new_tag,
    reason_phrase,
)
from softswitch.sip.parser import parse_message
from softswitch.sip.uri import SipUri
from softswitch.sip.via import Via

CORPUS = Path(__file__).parent / "corpus"

COMMON = (
    "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9\r\n"
    "Max-Forwards: 70\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
)


def request(extra: str = "", body: bytes = b"", method: str = "INVITE", cl: bool = True) -> bytes:
    head = f"{method} sip:bob@biloxi.example.com SIP/2.0\r\n{COMMON}CSeq: 1 {method}\r\n{extra}"
    if cl:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


# --- Headers ----------------------------------------------------------------------------


def test_headers_case_insensitive_and_ordered() -> None:
    h = Headers([("via", "SIP/2.0/UDP a"), ("X-Custom", "1"), ("CALL-ID", "abc")])
    assert h.get("VIA") == "SIP/2.0/UDP a"
    assert h.get("call-id") == "abc"
    assert h.get("i") == "abc"  # compact form looks up the same header
    assert "x-custom" in h and "X-CUSTOM" in h and "Nope" not in h
    assert h.items() == [("Via", "SIP/2.0/UDP a"), ("X-Custom", "1"), ("Call-ID", "abc")]
    assert h.get("Missing") is None and h.get("Missing", "d") == "d"


@pytest.mark.parametrize(
    ("compact", "canonical"),
    [
        ("i", "Call-ID"), ("m", "Contact"), ("f", "From"), ("t", "To"), ("v", "Via"),
        ("l", "Content-Length"), ("c", "Content-Type"), ("k", "Supported"), ("s", "Subject"),
        ("e", "Content-Encoding"), ("o", "Event"), ("r", "Refer-To"), ("b", "Referred-By"),
        ("u", "Allow-Events"), ("x", "Session-Expires"), ("y", "Identity"),
    ],
)  # fmt: skip
def test_compact_forms_normalised(compact: str, canonical: str) -> None:
    assert canonical_name(compact) == canonical
    assert canonical_name(compact.upper()) == canonical
    h = Headers([(compact, "v")])
    assert h.items() == [(canonical, "v")]
    assert h.get(canonical) == "v"


@pytest.mark.parametrize(
    "name",
    ["WWW-Authenticate", "CSeq", "Call-ID", "Max-Forwards", "MIME-Version", "RAck", "RSeq",
     "Proxy-Authorization", "SIP-ETag", "P-Asserted-Identity", "Record-Route", "User-Agent"],
)  # fmt: skip
def test_well_known_names_get_canonical_case(name: str) -> None:
    assert canonical_name(name.upper()) == name
    assert canonical_name(name.lower()) == name


def test_unknown_names_keep_their_case() -> None:
    h = Headers([("X-SoMe-Thing", "1")])
    assert h.items() == [("X-SoMe-Thing", "1")]
    assert h.get("x-some-thing") == "1"


def test_get_all_splits_list_headers_only() -> None:
    h = Headers()
    h.add("Contact", '"Desk, left" <sip:a@x;p=1,2>;q=1, <sip:b@y>')
    h.add("m", "<sip:c@z>")
    h.add("WWW-Authenticate", 'Digest realm="a", nonce="b", algorithm=MD5')
    h.add("WWW-Authenticate", 'Digest realm="a", nonce="c", algorithm=SHA-256')
    h.add("Date", "Sat, 13 Nov 2010 23:29:00 GMT")
    h.add("User-Agent", "Phone/1.0 (a, b)")
    h.add("X-Unknown", "a, b")
    assert h.get_all("Contact") == ['"Desk, left" <sip:a@x;p=1,2>;q=1', "<sip:b@y>", "<sip:c@z>"]
    assert h.get("Contact") == '"Desk, left" <sip:a@x;p=1,2>;q=1'
    assert h.get_all("www-authenticate") == [
        'Digest realm="a", nonce="b", algorithm=MD5',
        'Digest realm="a", nonce="c", algorithm=SHA-256',
    ]
    assert h.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert h.get_all("User-Agent") == ["Phone/1.0 (a, b)"]
    assert h.get_all("X-Unknown") == ["a, b"]
    assert h.get_all("Nope") == []


def test_set_add_prepend_remove() -> None:
    h = Headers([("Via", "v1"), ("From", "f"), ("Via", "v2"), ("Route", "r1")])
    h.prepend("Via", "v0")
    assert [v for n, v in h.items() if n == "Via"] == ["v0", "v1", "v2"]
    assert h.items()[0] == ("Via", "v0")
    h.prepend("Record-Route", "rr")  # none yet: goes first
    assert h.items()[0] == ("Record-Route", "rr")
    h.set("via", "only")  # replaces all, at the position of the first
    assert h.items() == [("Record-Route", "rr"), ("Via", "only"), ("From", "f"), ("Route", "r1")]
    h.set("Expires", "60")
    assert h.items()[-1] == ("Expires", "60")
    h.remove("ROUTE")
    assert "Route" not in h
    h.add("Route", "r2")
    assert h.get_all("Route") == ["r2"]
    assert len(h) == 5


def test_copy_is_independent() -> None:
    h = Headers([("Via", "a")])
    c = h.copy()
    c.add("Via", "b")
    assert h.get_all("Via") == ["a"]
    assert c.get_all("Via") == ["a", "b"]
    assert h != c and h == Headers([("v", "a")])


def test_header_injection_is_refused() -> None:
    h = Headers()
    with pytest.raises(ValueError):
        h.add("Subject", "hi\r\nVia: evil")
    with pytest.raises(ValueError):
        h.set("Bad Name", "x")


# --- parsing ----------------------------------------------------------------------------


def test_parse_typical_invite() -> None:
    body = b"v=0\r\no=- 1 1 IN IP4 192.0.2.101\r\ns=-\r\n"
    msg = parse_message(request("Content-Type: application/sdp\r\n", body))
    assert isinstance(msg, Request)
    assert msg.method == "INVITE"
    assert msg.uri == SipUri("sip", "bob", "biloxi.example.com")
    assert msg.call_id == "3848276298220188511@atlanta.example.com"
    assert msg.cseq == (1, "INVITE")
    assert msg.from_addr.tag == "9fxced76sl"
    assert msg.from_addr.display == "Alice"
    assert msg.to_addr.tag is None
    assert msg.top_via.branch == "z9hG4bK74bf9"
    assert msg.max_forwards == 70
    assert msg.body == body
    assert msg.headers.get("Content-Type") == "application/sdp"


def test_parse_response() -> None:
    data = (
        b"SIP/2.0 180 Ringing\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9;received=192.0.2.7\r\n"
        b"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
        b"To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
        b"Call-ID: 3848276298220188511@atlanta.example.com\r\n"
        b"CSeq: 1 INVITE\r\n"
        b"Contact: <sip:bob@192.0.2.4>\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    msg = parse_message(data)
    assert isinstance(msg, Response)
    assert (msg.status, msg.reason) == (180, "Ringing")
    assert msg.to_addr.tag == "8321234356"
    assert msg.top_via.params["received"] == "192.0.2.7"
    assert [str(c.uri) for c in msg.contacts] == ["sip:bob@192.0.2.4"]


def test_compact_and_folded_headers() -> None:
    data = (
        b"OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
        b"v: SIP/2.0/UDP 192.0.2.101\r\n"
        b"  ;branch=z9hG4bKfold\r\n"
        b"f: <sip:alice@atlanta.example.com>;tag=1\r\n"
        b"t: <sip:bob@biloxi.example.com>\r\n"
        b"i: folded@atlanta.example.com\r\n"
        b"CSeq: 2 OPTIONS\r\n"
        b"Subject: first\r\n\tsecond\r\n third\r\n"
        b"l: 0\r\n\r\n"
    )
    msg = parse_message(data)
    assert msg.top_via.branch == "z9hG4bKfold"
    assert msg.headers.get("Subject") == "first second third"
    assert msg.headers.items()[0][0] == "Via"
    out = msg.to_bytes().decode()
    assert "\r\nVia: SIP/2.0/UDP 192.0.2.101 ;branch=z9hG4bKfold\r\n" in out
    assert "\r\nCall-ID: folded@atlanta.example.com\r\n" in out
    assert "\r\nContent-Length: 0\r\n" in out


def test_bare_lf_line_ends_are_tolerated() -> None:
    msg = parse_message(request().replace(b"\r\n", b"\n"))
    assert msg.call_id == "3848276298220188511@atlanta.example.com"


def test_multiple_vias_in_one_header_and_many_headers() -> None:
    msg = parse_message(
        request().replace(
            b"Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9\r\n",
            b"Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP/2.0/TCP p2.example.com;branch=z9hG4bK2\r\n"
            b"v: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK3\r\n",
        )
    )
    assert [v.branch for v in msg.vias] == ["z9hG4bK1", "z9hG4bK2", "z9hG4bK3"]
    assert [v.transport for v in msg.vias] == ["UDP", "TCP", "UDP"]
    assert msg.top_via.host == "p1.example.com"


def test_contact_star() -> None:
    msg = parse_message(request("Contact: *\r\nExpires: 0\r\n", method="REGISTER"))
    assert msg.is_star
    assert msg.contacts == []
    msg2 = parse_message(request("Contact: <sip:a@b>;expires=60, <sip:c@d>\r\n", method="REGISTER"))
    assert not msg2.is_star
    assert [c.params.get("expires") for c in msg2.contacts] == ["60", None]
    msg3 = parse_message(request("Contact: *, <sip:a@b>\r\n", method="REGISTER"))
    with pytest.raises(SipParseError):
        msg3.contacts  # noqa: B018


def test_routes_and_record_routes() -> None:
    msg = parse_message(
        request(
            "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\nRecord-Route: <sip:rr;lr>\r\n"
        )
    )
    assert [r.uri.host for r in msg.routes] == ["p1.example.com", "p2.example.com"]
    assert msg.routes[0].uri.params == {"lr": None}
    assert [r.uri.host for r in msg.record_routes] == ["rr"]


def test_udp_content_length_truncates_extra_bytes() -> None:
    data = (
        request("Content-Type: text/plain\r\n", cl=False).replace(
            b"\r\n\r\n", b"\r\nContent-Length: 5\r\n\r\n"
        )
        + b"helloGARBAGE"
    )
    assert parse_message(data).body == b"hello"


def test_udp_without_content_length_takes_the_rest() -> None:
    data = request("Content-Type: text/plain\r\n", cl=False) + b"all of it\r\n"
    assert parse_message(data).body == b"all of it\r\n"


def test_binary_body_is_untouched() -> None:
    body = bytes(range(256))
    assert parse_message(request("Content-Type: application/octet-stream\r\n", body)).body == body


def test_leading_crlf_ignored() -> None:
    assert parse_message(b"\r\n\r\n" + request()).method == "INVITE"


# --- errors and .request ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "status", "fragment"),
    [
        (lambda d: d.replace(b"Content-Length: 0", b"Content-Length: 10"), 400, "Content-Length"),
        (lambda d: d.replace(b"Content-Length: 0", b"Content-Length: x"), 400, "Content-Length"),
        (lambda d: d.replace(b"CSeq: 1 INVITE", b"CSeq: -1 INVITE"), 400, "CSeq"),
        (lambda d: d.replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"), 400, "does not match"),
        (lambda d: d.replace(b"Max-Forwards: 70", b"Max-Forwards: 7O"), 400, "Max-Forwards"),
        (lambda d: d.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), 505, "version"),
        (lambda d: d.replace(b"From: Alice <", b'From: "Alice <'), 400, "quoted"),
        (lambda d: d.replace(b"Call-ID: ", b"Call-ID: a b"), 400, "Call-ID"),
        (
            lambda d: d.replace(b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\nno colon here\r\n"),
            400,
            "header",
        ),
        (lambda d: d.replace(b"INVITE sip:bob@", b"INVITE foo:bob@", 1), 416, "scheme"),
    ],
)
def test_errors_with_request_attached(mutate, status: int, fragment: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SipParseError) as info:
        parse_message(mutate(request()))
    exc = info.value
    assert exc.status == status
    assert fragment.lower() in exc.reason.lower()
    req = exc.request  # type: ignore[attr-defined]
    assert isinstance(req, Request)
    # the transport answers with this (echoing the headers, broken or not):
    out = req.make_response(exc.status, exc.reason).to_bytes()
    assert out.startswith(f"SIP/2.0 {status} ".encode())
    assert f"\r\nCall-ID: {req.headers.get('Call-ID')}\r\n".encode() in out
    assert f"\r\nCSeq: {req.headers.get('CSeq')}\r\n".encode() in out


@pytest.mark.parametrize("missing", ["Via", "From", "To", "Call-ID", "CSeq"])
def test_missing_essential_header_has_no_request(missing: str) -> None:
    data = re.sub(rb"(?m)^" + missing.encode() + rb":[^\r]*\r\n", b"", request())
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert missing in info.value.reason
    assert info.value.request is None  # type: ignore[attr-defined]


def test_unreadable_top_via_has_no_request() -> None:
    data = request().replace(b"SIP/2.0/UDP 192.0.2.101:5060", b"SIP/2.0/UDP")
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.request is None  # type: ignore[attr-defined]


def test_bad_response_never_has_request() -> None:
    data = request().replace(b"INVITE sip:bob@biloxi.example.com SIP/2.0", b"SIP/2.0 200 OK", 1)
    data = data.replace(b"Max-Forwards: 70", b"Max-Forwards: lots")
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.request is None  # type: ignore[attr-defined]


# --- serialisation -----------------------------------------------------------------------


def test_to_bytes_round_trip_and_content_length() -> None:
    data = request("Content-Type: text/plain\r\n", b"hello")
    msg = parse_message(data)
    assert msg.to_bytes() == data
    msg.body = b"longer body"
    out = msg.to_bytes()
    assert b"\r\nContent-Length: 11\r\n" in out
    assert out.count(b"Content-Length") == 1
    assert parse_message(out).body == b"longer body"


def test_build_request_from_scratch() -> None:
    req = Request("OPTIONS", SipUri.parse("sip:bob@biloxi.example.com"))
    req.headers.add("v", f"SIP/2.0/UDP 192.0.2.1:5060;branch={new_branch()}")
    req.headers.add("Max-Forwards", "70")
    req.headers.add(
        "From",
        str(Address(SipUri("sip", "alice", "atlanta.example.com"), "Alice", {"tag": new_tag()})),
    )
    req.headers.add("To", "<sip:bob@biloxi.example.com>")
    req.headers.add("Call-ID", new_call_id())
    req.headers.add("CSeq", "1 OPTIONS")
    out = req.to_bytes()
    assert out.startswith(b"OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\nVia: SIP/2.0/UDP ")
    assert out.endswith(b"\r\nContent-Length: 0\r\n\r\n")
    back = parse_message(out)
    assert back.from_addr.display == "Alice"
    assert back == parse_message(back.to_bytes())


def test_request_accepts_uri_string() -> None:
    assert Request("BYE", "sip:bob@example.com").uri == SipUri("sip", "bob", "example.com")  # type: ignore[arg-type]


def test_views_follow_header_changes() -> None:
    msg = parse_message(request())
    assert msg.top_via.host == "192.0.2.101"
    msg.headers.prepend("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKnew")
    assert msg.top_via.host == "proxy.example.com"
    assert len(msg.vias) == 2
    msg.headers.set("To", "<sip:carol@example.com>;tag=t")
    assert msg.to_addr.tag == "t"
    msg.headers = Headers(msg.headers.items())  # a new Headers object
    msg.headers.remove("Via")
    with pytest.raises(SipParseError):
        msg.top_via  # noqa: B018


# --- make_response (RFC 3261 8.2.6) ------------------------------------------------------


def test_make_response_copies_the_right_headers() -> None:
    req = parse_message(
        request(
            "Record-Route: <sip:p1.example.com;lr>\r\n"
            "Contact: <sip:alice@192.0.2.101>\r\nTimestamp: 54\r\n",
        ).replace(
            b"Via: SIP/2.0/UDP 192.0.2.101",
            b"Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp\r\nVia: SIP/2.0/UDP 192.0.2.101",
        )
    )
    assert isinstance(req, Request)
    ok = req.make_response(200, to_tag="abc")
    assert (ok.status, ok.reason) == (200, "OK")
    assert [n for n, _ in ok.headers.items()] == [
        "Via",
        "Via",
        "Record-Route",
        "From",
        "To",
        "Call-ID",
        "CSeq",
    ]
    assert ok.headers.get_all("Via") == req.headers.get_all("Via")
    assert ok.to_addr.tag == "abc"
    assert ok.from_addr == req.from_addr
    assert ok.cseq == (1, "INVITE")
    assert ok.body == b""

    trying = req.make_response(100)
    assert trying.reason == "Trying"
    assert "Record-Route" not in trying.headers
    assert trying.headers.get("Timestamp") == "54"
    assert trying.to_addr.tag is None

    busy = req.make_response(486, to_tag="abc")
    assert busy.reason == "Busy Here"
    assert "Record-Route" not in busy.headers
    assert busy.to_addr.tag == "abc"

    custom = req.make_response(404, "Nobody Here")
    assert custom.reason == "Nobody Here"


def test_make_response_keeps_existing_to_tag() -> None:
    req = parse_message(
        request().replace(
            b"To: Bob <sip:bob@biloxi.example.com>", b"To: <sip:bob@b.example.com>;tag=old"
        )
    )
    assert isinstance(req, Request)
    assert req.make_response(200, to_tag="new").to_addr.tag == "old"


def test_non_dialog_request_does_not_copy_record_route() -> None:
    req = parse_message(request("Record-Route: <sip:p1;lr>\r\n", method="OPTIONS"))
    assert isinstance(req, Request)
    assert "Record-Route" not in req.make_response(200).headers


def test_make_response_status_range() -> None:
    req = parse_message(request())
    assert isinstance(req, Request)
    with pytest.raises(ValueError):
        req.make_response(99)


def test_reason_phrases() -> None:
    assert reason_phrase(180) == "Ringing"
    assert reason_phrase(487) == "Request Terminated"
    assert reason_phrase(499) == "Client Error"
    assert reason_phrase(299) == "Success"
    assert all(100 <= code <= 699 and text for code, text in REASON_PHRASES.items())


# --- identifiers ---------------------------------------------------------------------------


def test_identifiers_are_unique_tokens() -> None:
    branches = {new_branch() for _ in range(1000)}
    assert len(branches) == 1000
    assert all(b.startswith("z9hG4bK") and re.fullmatch(r"[A-Za-z0-9]+", b) for b in branches)
    assert len({new_tag() for _ in range(1000)}) == 1000
    call_ids = {new_call_id() for _ in range(1000)}
    assert len(call_ids) == 1000 and all(len(c) >= 16 for c in call_ids)


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


# --- corpus -----------------------------------------------------------------------------------


def _corpus(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).glob("*.sip"))


def test_corpus_is_present_and_crlf() -> None:
    assert len(_corpus("valid")) >= 20 and len(_corpus("invalid")) >= 40
    for path in _corpus("valid"):
        data = path.read_bytes()
        head = data[: data.find(b"\r\n\r\n")]
        assert b"\n" not in head.replace(b"\r\n", b""), path.name


@pytest.mark.parametrize("path", _corpus("valid"), ids=lambda p: p.stem)
def test_corpus_valid(path: Path) -> None:
    msg = parse_message(path.read_bytes())
    # every view parses, and serialising then parsing gives the same message
    msg.call_id, msg.cseq, msg.from_addr, msg.to_addr  # noqa: B018
    assert msg.vias[0] == msg.top_via
    msg.contacts, msg.routes, msg.record_routes  # noqa: B018
    again = parse_message(msg.to_bytes())
    assert again.to_bytes() == msg.to_bytes()
    if "Content-Length" not in msg.headers:  # to_bytes always adds it
        again.headers.remove("Content-Length")
    assert again == msg


@pytest.mark.parametrize("path", _corpus("invalid"), ids=lambda p: p.stem)
def test_corpus_invalid(path: Path) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(path.read_bytes())
    request_ = info.value.request  # type: ignore[attr-defined]
    if path.stem.startswith(
        ("missing_", "response_", "status_", "via_", "empty", "only_crlf", "binary")
    ):
        assert request_ is None
    if request_ is not None:
        assert isinstance(request_, Request)
        request_.make_response(info.value.status, info.value.reason).to_bytes()


def test_corpus_details() -> None:
    def load(name: str) -> Request | Response:
        return parse_message((CORPUS / "valid" / f"{name}.sip").read_bytes())

    compact = load("compact_forms")
    assert [n for n, _ in compact.headers.items()][:4] == ["Via", "From", "To", "Call-ID"]
    assert compact.headers.get_all("Supported") == ["timer", "100rel"]
    assert compact.headers.get("Session-Expires") == "1800;refresher=uac"
    spacing = load("case_and_spacing")
    assert spacing.top_via == Via(
        "UDP", "192.0.2.101", 5060, {"branch": "z9hG4bKspaces", "rport": None}
    )
    assert spacing.to_addr.display == "Bob Smith"
    assert spacing.headers.get("Subject") == "a folded subject line continued with a tab"
    assert spacing.headers.get_all("Accept") == ["application/sdp", "text/plain"]
    escaped = load("escaped_user")
    assert isinstance(escaped, Request)
    assert escaped.uri.user == "alice smith%2B1"
    assert escaped.from_addr.uri.user == "user;par=u%40example.net"
    assert escaped.contacts[0].uri.user == "café"
    v6 = load("ipv6")
    assert isinstance(v6, Request)
    assert v6.uri.host_port == ("[2001:db8::10]", 5070)
    assert v6.top_via.params["received"] == "2001:db8::9:255"
    assert load("extra_bytes_after_body").body == b"0123456789"
    assert load("register_star").is_star
    assert load("quoted_display").from_addr.display == 'Alice "the admin" \\ root, <boss>'
    assert len(load("quoted_display").contacts) == 2
    odd = load("odd_reason_phrase")
    assert isinstance(odd, Response) and odd.reason.endswith("UTF-8 é")
    assert load("long_call_id_many_params").cseq == (2147483647, "OPTIONS")
    tel = load("tel_uri")
    assert isinstance(tel, Request) and tel.uri.scheme == "tel"
