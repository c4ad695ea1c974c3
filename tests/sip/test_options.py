"""Option tags and methods (RFC 3261 8.2.2.3, 19.2, 20.5): which Require tags a request
names that we do not support, and the Allow/Supported values built from the sets."""

from __future__ import annotations

import pytest

from softswitch.sip.message import Request
from softswitch.sip.options import (
    ALLOWED,
    EVENTS,
    SUPPORTED,
    allow_events_header,
    allow_header,
    supported_header,
    unsupported,
)
from softswitch.sip.parser import parse_message


def request(method: str, *extra: str) -> Request:
    lines = [
        f"{method} sip:102@127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKopt",
        "Max-Forwards: 70",
        "From: <sip:101@127.0.0.1>;tag=a",
        "To: <sip:102@127.0.0.1>",
        "Call-ID: options-test",
        f"CSeq: 1 {method}",
        *extra,
        "Content-Length: 0",
    ]
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def test_no_require_needs_nothing() -> None:
    assert unsupported(request("INVITE")) == []


def test_unknown_tags_listed_once_each_as_spelled() -> None:
    req = request("INVITE", "Require: foo, Bar", "Require: foo,baz", "k: qux")
    assert unsupported(req, frozenset()) == ["foo", "Bar", "baz"]


def test_supported_tags_pass_whatever_their_case() -> None:
    req = request("INVITE", "Require: 100REL, timer, foo")
    assert unsupported(req, frozenset({"100rel", "timer"})) == ["foo"]


def test_proxy_require_is_for_proxies_not_for_a_uas() -> None:
    assert unsupported(request("INVITE", "Proxy-Require: sec-agree"), frozenset()) == []


@pytest.mark.parametrize("method", ["ACK", "CANCEL"])
def test_ack_and_cancel_are_never_refused(method: str) -> None:
    assert unsupported(request(method, "Require: foo"), frozenset()) == []


def test_every_supported_tag_passes() -> None:
    tags = ", ".join(SUPPORTED) or "none-at-all"
    expected = [] if SUPPORTED else ["none-at-all"]
    assert unsupported(request("OPTIONS", f"Require: {tags}")) == expected


def test_header_values() -> None:
    assert allow_header(("INVITE", "BYE")) == "INVITE, BYE"
    assert allow_header().split(", ") == list(ALLOWED)
    assert supported_header(frozenset({"timer", "100rel", "replaces"})) == (
        "100rel, replaces, timer"
    )
    assert supported_header(frozenset()) == ""
    assert allow_events_header() == "dialog, message-summary, presence"
    assert allow_events_header(("dialog",)) == "dialog"
    assert len(set(EVENTS)) == len(EVENTS)


def test_allow_names_what_the_stack_answers() -> None:
    # methods with handlers in ua/invite/the registrar/subscription/the switch's transfers;
    # no NOTIFY (only sent) or MESSAGE
    assert set(ALLOWED) == {"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "UPDATE",
                            "PRACK", "REFER", "REGISTER", "SUBSCRIBE"}  # fmt: skip
