"""RFC 4475 sections 3.1.1 and 3.1.2 through the parser (tests/sip/corpus/rfc4475).

Valid messages parse, and every view a handler reads of them (the Via list, Contact,
Route) parses too; invalid ones are refused with the status index.toml names, and a
refused request that can be answered comes with the request, so that the transport
answers it (never silence).
"""

from __future__ import annotations

import pytest

from softswitch.sip.address import Address
from softswitch.sip.errors import SipParseError
from softswitch.sip.message import Request, Response
from softswitch.sip.parser import parse_message
from softswitch.sip.via import Via
from tests.sip.rfc4475 import CASES, Case


def read(case: Case) -> Request | Response:
    """Parse and read every view, as the switch may."""
    message = parse_message(case.data)
    _ = (message.vias, message.contacts, message.routes, message.record_routes)
    _ = (message.from_addr, message.to_addr, message.call_id, message.cseq)
    return message


def test_corpus_has_every_case_of_3_1_1_and_3_1_2() -> None:
    sections = {c.section for c in CASES}
    assert sections == {f"3.1.1.{n}" for n in range(1, 14)} | {f"3.1.2.{n}" for n in range(1, 20)}
    for case in CASES:
        assert case.transport in ("UDP", "TCP")
        assert b"\r\n\r\n" in case.data, case.name


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.section}-{c.name}")
def test_parser_answers_as_the_index_says(case: Case) -> None:
    if case.parse == "ok":
        read(case)
        return
    with pytest.raises(SipParseError) as info:
        read(case)
    error = info.value
    assert error.status == int(case.parse), error.reason
    assert error.reason and "\r" not in error.reason and "\n" not in error.reason
    if error.request is not None:
        # what the transport sends back: the reason phrase names the problem
        response = error.request.make_response(error.status, error.reason)
        assert response.to_bytes().startswith(f"SIP/2.0 {error.status} ".encode())
    # the parser's own refusals of requests carry the request (views refuse later)
    if case.answer is not None and case.name != "regbadct":
        assert error.request is not None, case.name


def by_name(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def test_short_tortuous_invite() -> None:
    msg = read(by_name("wsinv"))
    assert isinstance(msg, Request)
    assert msg.uri.params == {"unknownparam": None}
    assert msg.to_addr.tag == "1918181833n"
    assert msg.from_addr.display == 'J Rosenberg \\"'
    assert msg.from_addr.tag == "98asjd8"
    assert msg.max_forwards == 68
    assert msg.cseq == (9, "INVITE")
    assert [(v.transport, v.host) for v in msg.vias] == [
        ("UDP", "127.0.0.2"),
        ("TCP", "spindle.example.com.invalid"),
        ("UDP", "127.168.255.111"),
    ]
    assert msg.vias[2].branch == "z9hG4bK30239"
    assert msg.headers.get("Subject") == ""
    assert msg.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert msg.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    (contact,) = msg.contacts
    assert contact.display == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert len(msg.body) == 150


def test_wide_range_of_valid_characters() -> None:
    msg = read(by_name("intmeth"))
    assert isinstance(msg, Request)
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert msg.cseq == (139122385, msg.method)
    assert msg.to_addr.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert msg.from_addr.display == "token1~` token2'+_ token3*%!.-"
    assert msg.from_addr.tag == "_token~1'+`*%!-."
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert msg.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_escapes_are_decoded_where_they_mean_the_character() -> None:
    esc01 = read(by_name("esc01"))
    assert isinstance(esc01, Request)
    assert esc01.uri.user == "sips%3Auser%40example.com"  # reserved: stays escaped
    assert esc01.to_addr.uri.user == "user"  # %75se%72: unreserved, decoded
    assert esc01.from_addr.uri.user == "I have spaces"
    assert str(esc01.from_addr.uri).startswith("sip:I%20have%20spaces@")
    escnull = read(by_name("escnull"))
    assert escnull.to_addr.uri.user == "null-\x00-null"
    esc02 = read(by_name("esc02"))
    assert isinstance(esc02, Request) and esc02.method == "RE%47IST%45R"  # not REGISTER


def test_semicolons_and_long_values() -> None:
    semi = read(by_name("semiuri"))
    assert isinstance(semi, Request)
    assert semi.uri.user == "user;par=u%40example.net"
    longreq = read(by_name("longreq"))
    assert len(longreq.vias) == 34
    (name,) = [n for n, _ in longreq.headers.items() if n.startswith("Unknown-LongLong")]
    assert len(name) > 80 and longreq.headers.get(name) is not None
    assert len(longreq.to_addr.display or "") > 100


def test_extra_octets_in_a_datagram_are_dropped() -> None:
    msg = read(by_name("dblreq"))
    assert isinstance(msg, Request) and msg.method == "REGISTER" and msg.body == b""


def test_display_name_next_to_angle_and_odd_reasons() -> None:
    assert read(by_name("lwsdisp")).from_addr.display == "caller"
    unreason = read(by_name("unreason"))
    assert isinstance(unreason, Response) and unreason.reason.startswith("= 2**3 * 5**2 но")
    noreason = read(by_name("noreason"))
    assert isinstance(noreason, Response) and noreason.reason == ""


def test_transports_unknown_to_us_still_parse() -> None:
    msg = read(by_name("transports"))
    assert [v.transport for v in msg.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("badinv01", "bad parameter name"),
        ("lwsruri", "whitespace in the Request-URI"),
        ("lwsstart", "more than one space"),
        ("trws", "whitespace at the end"),
        ("ltgtruri", "bad Request-URI"),
        ("baddn", "must be quoted"),
        ("badvers", "SIP version SIP/7.0 not supported"),
        ("mismatch01", "does not match"),
    ],
)
def test_refusals_say_what_is_wrong(name: str, reason: str) -> None:
    with pytest.raises(SipParseError) as info:
        read(by_name(name))
    assert reason in info.value.reason


def test_a_via_bad_after_its_sent_by_still_routes_the_answer() -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(by_name("badinv01").data)
    request = info.value.request
    assert request is not None
    assert request.top_via == Via("UDP", "127.0.0.15")  # params dropped: only for routing
    with pytest.raises(SipParseError):
        Via.parse_sent_by("SIP/2.0/UDP ;branch=z9hG4bK1")


def test_unquoted_display_names() -> None:
    assert Address.parse("Bob Smith <sip:b@h>").display == "Bob Smith"
    assert Address.parse("Jürgen <sip:j@h>").display == "Jürgen"  # UTF-8 tolerated
    for bad in ("Bell, Alexander <sip:a@h>", "a;b <sip:a@h>", "a@b <sip:a@h>"):
        with pytest.raises(SipParseError):
            Address.parse(bad)
    assert Address.parse("sip:u@h ;  tag = 1").tag == "1"  # LWS before ';' (3.1.1.1)
