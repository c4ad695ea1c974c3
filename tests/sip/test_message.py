"""Requests and responses: serialisation, views, make_response (RFC 3261 8.2.6), ids."""

from __future__ import annotations

import re

import pytest

from softswitch.sip.address import Address
from softswitch.sip.errors import SipParseError
from softswitch.sip.headers import Headers
from softswitch.sip.message import (
    REASON_PHRASES,
    Request,
    new_branch,
    new_call_id,
    new_tag,
    reason_phrase,
)
from softswitch.sip.parser import parse_message
from softswitch.sip.uri import SipUri
from tests.sip.samples import request

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


def test_a_response_reuses_the_views_its_request_already_parsed() -> None:
    req = parse_message(request())
    assert isinstance(req, Request)
    via, sender, cseq = req.top_via, req.from_addr, req.cseq  # parsed once, by the parser
    tagged = req.make_response(200, to_tag="abc")
    assert tagged.top_via is via and tagged.from_addr is sender and tagged.cseq is cseq
    assert tagged.call_id == req.call_id
    assert tagged.to_addr.tag == "abc" and req.to_addr.tag is None  # To was changed: parsed anew
    trying = req.make_response(100)
    assert trying.to_addr is req.to_addr  # copied verbatim: shared
    # a change to the response's headers drops its views, never the request's
    trying.headers.set("Via", "SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKother")
    assert trying.top_via.host == "192.0.2.7" and req.top_via is via


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
