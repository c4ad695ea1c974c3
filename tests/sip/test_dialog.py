"""Dialog state (RFC 3261 12): built from real INVITE/200 text, requests inside it."""

from __future__ import annotations

import pytest

from softswitch.sip.dialog import Dialog, DialogState, remote_target_problem
from softswitch.sip.headers import Headers
from softswitch.sip.message import Request, Response
from softswitch.sip.parser import parse_message
from softswitch.sip.transport import Peer
from softswitch.sip.uri import SipUri

PEER = Peer("UDP", "192.0.2.10", 5060)

INVITE = (
    b"INVITE sip:bob@192.0.2.20 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa1\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Alice" <sip:alice@atlanta.example.com>;tag=alice1\r\n'
    b"To: <sip:bob@biloxi.example.com>\r\n"
    b"Call-ID: dlg-1@192.0.2.10\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.10:5070>\r\n"
    b"Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\r\n"
    b"Content-Length: 0\r\n\r\n"
)

OK = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa1\r\n"
    b'From: "Alice" <sip:alice@atlanta.example.com>;tag=alice1\r\n'
    b"To: <sip:bob@biloxi.example.com>;tag=bob9\r\n"
    b"Call-ID: dlg-1@192.0.2.10\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Contact: <sip:bob@192.0.2.20:5080>\r\n"
    b"Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def invite() -> Request:
    message = parse_message(INVITE)
    assert isinstance(message, Request)
    return message


def ok(data: bytes = OK) -> Response:
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


def test_states_are_the_rfc_strings() -> None:
    assert [str(s) for s in DialogState] == ["early", "confirmed", "terminated"]
    assert DialogState.EARLY == "early"


def test_uas_dialog_from_a_received_invite() -> None:
    dialog = Dialog.as_uas(invite(), "bobtag", PEER)
    assert dialog.id == ("dlg-1@192.0.2.10", "bobtag", "alice1")
    assert str(dialog.remote_target) == "sip:alice@192.0.2.10:5070"
    assert dialog.remote_cseq == 7 and dialog.local_cseq == 1
    # the route set is the Record-Route as received (12.1.1)
    assert dialog.route_set == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert dialog.remote_uri.tag is None and dialog.local_uri.tag is None
    assert dialog.remote_uri.display == "Alice"


def test_uac_dialog_from_the_2xx_reverses_the_route_set() -> None:
    dialog = Dialog.as_uac(invite(), ok(), PEER)
    assert dialog.id == ("dlg-1@192.0.2.10", "alice1", "bob9")
    assert str(dialog.remote_target) == "sip:bob@192.0.2.20:5080"
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert dialog.local_cseq == 7


def test_request_inside_the_dialog_as_a_peer_reads_it() -> None:
    dialog = Dialog.as_uac(invite(), ok(), PEER)
    bye = dialog.create_request("BYE", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKbye")
    seen = parse_message(bye.to_bytes())
    assert isinstance(seen, Request)
    # loose routing: the Request-URI is the remote target, the route set goes in Route
    assert str(seen.uri) == "sip:bob@192.0.2.20:5080"
    assert [str(r.uri) for r in seen.routes] == ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]
    assert seen.from_addr.tag == "alice1" and seen.to_addr.tag == "bob9"
    assert seen.from_addr.display == "Alice"
    assert seen.call_id == "dlg-1@192.0.2.10"
    assert seen.cseq == (8, "BYE")
    assert seen.max_forwards == 70
    # the next request takes the next number; ACK reuses the INVITE's
    assert dialog.create_request("INFO", "SIP/2.0/UDP h;branch=z9hG4bKi").cseq == (9, "INFO")
    assert dialog.create_request("ACK", "SIP/2.0/UDP h;branch=z9hG4bKk", cseq=7).cseq == (7, "ACK")
    assert dialog.local_cseq == 9


def test_request_body_and_contact() -> None:
    dialog = Dialog.as_uas(invite(), "bobtag", PEER)
    reinvite = dialog.create_request(
        "INVITE",
        "SIP/2.0/UDP 192.0.2.20;branch=z9hG4bKre",
        contact="<sip:bob@192.0.2.20:5080>",
        body=b"v=0\r\n",
        content_type="application/sdp",
    )
    seen = parse_message(reinvite.to_bytes())
    assert seen.headers.get("Content-Type") == "application/sdp"
    assert seen.body == b"v=0\r\n"
    assert [str(c.uri) for c in seen.contacts] == ["sip:bob@192.0.2.20:5080"]
    # as UAS our From is their To
    assert seen.from_addr.tag == "bobtag" and seen.to_addr.tag == "alice1"


def test_strict_router_goes_in_the_request_uri() -> None:
    strict = OK.replace(
        b"Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\r\n",
        b"Record-Route: <sip:strict.example.com>\r\n",
    )
    dialog = Dialog.as_uac(invite(), ok(strict), PEER)
    bye = parse_message(dialog.create_request("BYE", "SIP/2.0/UDP h;branch=z9hG4bKs").to_bytes())
    assert isinstance(bye, Request)
    # RFC 3261 12.2.1.1: the first route becomes the Request-URI, the target goes last
    assert str(bye.uri) == "sip:strict.example.com"
    assert [str(r.uri) for r in bye.routes] == ["sip:bob@192.0.2.20:5080"]


def test_no_contact_falls_back_to_from_and_request_uri() -> None:
    bare = INVITE.replace(b"Contact: <sip:alice@192.0.2.10:5070>\r\n", b"")
    request = parse_message(bare)
    assert isinstance(request, Request)
    assert str(Dialog.as_uas(request, "t", PEER).remote_target) == "sip:alice@atlanta.example.com"
    response = ok(OK.replace(b"Contact: <sip:bob@192.0.2.20:5080>\r\n", b""))
    assert str(Dialog.as_uac(request, response, PEER).remote_target) == "sip:bob@192.0.2.20"


def test_remote_cseq_must_grow() -> None:
    dialog = Dialog.as_uas(invite(), "bobtag", PEER)

    def request(method: str, number: int) -> Request:
        data = INVITE.replace(b"CSeq: 7 INVITE", f"CSeq: {number} {method}".encode()).replace(
            b"INVITE sip:", f"{method} sip:".encode()
        )
        message = parse_message(data)
        assert isinstance(message, Request)
        return message

    assert dialog.accept_remote_cseq(request("BYE", 8))
    assert not dialog.accept_remote_cseq(request("INFO", 8))  # 12.2.2: answer 500
    assert not dialog.accept_remote_cseq(request("INFO", 3))
    # ACK and CANCEL reuse a number: always accepted, the counter stays
    assert dialog.accept_remote_cseq(request("ACK", 7))
    assert dialog.remote_cseq == 8


def test_target_refresh() -> None:
    dialog = Dialog.as_uac(invite(), ok(), PEER)
    moved = ok(OK.replace(b"sip:bob@192.0.2.20:5080", b"sip:bob@198.51.100.7:6000"))
    dialog.refresh_target(moved)
    assert str(dialog.remote_target) == "sip:bob@198.51.100.7:6000"
    dialog.refresh_target(ok(OK.replace(b"Contact: <sip:bob@192.0.2.20:5080>\r\n", b"")))
    assert str(dialog.remote_target) == "sip:bob@198.51.100.7:6000"  # no Contact: unchanged


@pytest.mark.parametrize(
    ("contact", "problem"),
    [
        ("<sip:a@127.0.0.1:5062>", None),
        ("<sips:a@127.0.0.1:5063>", None),
        (None, None),  # tolerated: the From address stands in
        ("<tel:+1-201-555-0123>", "Contact must be a SIP or SIPS URI, not tel:"),
        ("<http://h.invalid/x>", "Contact must be a SIP or SIPS URI, not http:"),
        ("<sip:a@h>, <sip:b@h>", "more than one Contact"),
        ("sip:a@h?Route=x", "bad Contact: bad addr-spec"),
    ],
)
def test_remote_target_problem(contact: str | None, problem: str | None) -> None:
    headers = Headers(
        [
            ("Via", "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1"),
            ("From", "<sip:a@h>;tag=1"),
            ("To", "<sip:b@h>"),
            ("Call-ID", "c"),
            ("CSeq", "1 INVITE"),
        ]
    )
    if contact is not None:
        headers.add("Contact", contact)
    found = remote_target_problem(Request("INVITE", SipUri.parse("sip:b@h"), headers))
    assert found == problem if problem is None else (found or "").startswith(problem)
