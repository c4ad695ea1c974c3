"""parse_message: start line, headers, body, errors and the corpus (RFC 3261 7, 18.3).

The corpus under tests/sip/corpus/{valid,invalid}/*.sip holds one UDP datagram
per file, byte-exact: CRLF line endings (a .gitattributes there marks them
-text so git never converts them).  tests/sip/corpus/make_corpus.py wrote
them and documents what each case is about; rerun it after editing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from softswitch.sip.errors import SipParseError
from softswitch.sip.message import (
    Request,
    Response,
)
from softswitch.sip.parser import parse_message
from softswitch.sip.uri import SipUri
from softswitch.sip.via import Via
from tests.sip.samples import request

CORPUS = Path(__file__).parent / "corpus"


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
            b"Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, "
            b"SIP/2.0/TCP p2.example.com;branch=z9hG4bK2\r\n"
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
            "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
            "Record-Route: <sip:rr;lr>\r\n"
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
    req = exc.request
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
    assert info.value.request is None


def test_unreadable_top_via_has_no_request() -> None:
    data = request().replace(b"SIP/2.0/UDP 192.0.2.101:5060", b"SIP/2.0/UDP")
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.request is None


def test_bad_response_never_has_request() -> None:
    data = request().replace(b"INVITE sip:bob@biloxi.example.com SIP/2.0", b"SIP/2.0 200 OK", 1)
    data = data.replace(b"Max-Forwards: 70", b"Max-Forwards: lots")
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.request is None


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
    request_ = info.value.request
    if path.stem.startswith(
        ("missing_", "response_", "status_", "via_no_host", "empty", "only_crlf", "binary")
    ):
        assert request_ is None
    elif path.stem.startswith("via_"):
        # a Via bad after its sent-by is answered there (RFC 4475 3.1.2.1, 3.1.2.16)
        assert request_ is not None and info.value.status == 400
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


def test_a_request_line_with_a_bad_method_is_answered() -> None:
    data = (
        b"INV@TE sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n"
        b"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INV@TE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.request is not None and info.value.reason == "bad method 'INV@TE'"
    # not SIP at all: nothing to answer
    with pytest.raises(SipParseError) as info:
        parse_message(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert info.value.request is None
