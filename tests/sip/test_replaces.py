"""The Replaces header (RFC 3891 6.1): the dialog it names, and the forms refused (400)."""

from __future__ import annotations

import pytest

from softswitch.sip.errors import SipParseError
from softswitch.sip.message import Request
from softswitch.sip.parser import parse_message
from softswitch.sip.replaces import Replaces


def invite(*replaces: str) -> Request:
    lines = [
        "INVITE sip:101@127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKrep",
        "Max-Forwards: 70",
        "From: <sip:103@127.0.0.1>;tag=c",
        "To: <sip:101@127.0.0.1>",
        "Call-ID: new-call",
        "CSeq: 1 INVITE",
        *(f"Replaces: {value}" for value in replaces),
        "Content-Length: 0",
    ]
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def test_rfc_example_names_the_dialog_as_the_receiver_keys_it() -> None:
    # RFC 3891 section 6.1's example
    replaces = Replaces.of(invite("425928@bobster.example.org;to-tag=7743;from-tag=6472"))
    assert replaces == Replaces("425928@bobster.example.org", "7743", "6472")
    assert replaces.dialog_id == ("425928@bobster.example.org", "7743", "6472")
    assert not replaces.early_only


def test_early_only_flag_any_order_any_case_and_extensions() -> None:
    replaces = Replaces.of(invite("abc ; EARLY-ONLY ; From-Tag=f1;x=y;to-tag=t1"))
    assert replaces == Replaces("abc", "t1", "f1", early_only=True)


@pytest.mark.parametrize("value", ["a;from-tag=2", "a;to-tag=1", "abcd;from_tag=1"])
def test_a_missing_tag_names_no_dialog_at_all(value: str) -> None:
    # answered 481 by whoever looks it up: no dialog has an empty tag (pjsip agrees)
    replaces = Replaces.of(invite(value))
    assert replaces is not None and "" in (replaces.to_tag, replaces.from_tag)


def test_no_header_is_no_replacement() -> None:
    assert Replaces.of(invite()) is None


@pytest.mark.parametrize(
    "values",
    [
        ("a;to-tag=1;from-tag=2", "b;to-tag=1;from-tag=2"),  # two headers
        ("a;to-tag=1;from-tag=2, b;to-tag=1;from-tag=2",),  # two in one
        ("a;to-tag=1 2;from-tag=2",),  # not a token
        ("a;to-tag=;from-tag=2",),  # a parameter without its value
        ("a;to-tag=1;from-tag=2;early-only=yes",),  # the flag has no value
        (";to-tag=1;from-tag=2",),  # no Call-ID
        ("a b;to-tag=1;from-tag=2",),  # not one Call-ID
        ("a;to-tag=1;to-tag=3;from-tag=2",),  # which to-tag?
    ],
)
def test_refused_forms(values: tuple[str, ...]) -> None:
    with pytest.raises(SipParseError):
        Replaces.of(invite(*values))
