"""SipUri, Address and Via: RFC 3261 19.1, 20.10, 20.42, 25 and RFC 5118 (IPv6)."""

from __future__ import annotations

import pytest

from softswitch.sip.address import Address
from softswitch.sip.errors import SipParseError
from softswitch.sip.grammar import parse_params, split_list, unquote
from softswitch.sip.uri import SipUri
from softswitch.sip.via import Via

# --- SipUri ----------------------------------------------------------------------


def test_full_sip_uri() -> None:
    uri = SipUri.parse("sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=x&h=1")
    assert uri.scheme == "sips"
    assert uri.user == "alice"
    assert uri.password == "secret"
    assert uri.host == "atlanta.example.com"
    assert uri.port == 5061
    assert uri.params == {"transport": "tcp", "lr": None}
    assert uri.headers == {"subject": "x", "h": "1"}
    assert uri.host_port == ("atlanta.example.com", 5061)
    assert str(uri) == "sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=x&h=1"


def test_host_only_and_case_folding() -> None:
    uri = SipUri.parse("SIP:Registrar.Example.COM;LR;Transport=UDP")
    assert uri.scheme == "sip"
    assert uri.user is None
    assert uri.host == "Registrar.Example.COM"  # host case kept, compare case-insensitively
    assert uri.port is None
    assert uri.params == {"lr": None, "transport": "UDP"}
    assert str(uri) == "sip:Registrar.Example.COM;lr;transport=UDP"


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("sip:[2001:db8::10]", "[2001:db8::10]", None),
        ("sip:alice@[2001:db8::10]:5070", "[2001:db8::10]", 5070),
        ("sip:[::1]:5060;transport=udp", "[::1]", 5060),
        ("sip:[::ffff:192.0.2.1]", "[::ffff:192.0.2.1]", None),
        ("sip:192.0.2.1:0", "192.0.2.1", 0),
        ("sip:host.example.com.:65535", "host.example.com.", 65535),
    ],
)
def test_hosts_and_ports(text: str, host: str, port: int | None) -> None:
    uri = SipUri.parse(text)
    assert uri.host_port == (host, port)
    assert SipUri.parse(str(uri)) == uri


def test_escapes_in_user_are_normalised() -> None:
    # Unreserved characters: %61 == 'a'.  Reserved ones (+ ; @ :) keep their
    # escape: RFC 3261 19.1.4 says %2B is not the same user as '+'.
    uri = SipUri.parse("sip:%61lice%20smith%2b1%3A%40%25@example.com")
    assert uri.user == "alice smith%2B1%3A%40%25"
    assert str(uri) == "sip:alice%20smith%2B1%3A%40%25@example.com"
    assert SipUri.parse(str(uri)) == uri


def test_utf8_escapes_decode_and_reencode() -> None:
    uri = SipUri.parse("sip:caf%C3%A9:p%40ss@example.com")
    assert uri.user == "café"
    assert uri.password == "p%40ss"
    assert str(uri) == "sip:caf%C3%A9:p%40ss@example.com"


def test_invalid_utf8_escapes_stay_escaped() -> None:
    uri = SipUri.parse("sip:a%FFb@example.com")
    assert uri.user == "a%FFb"
    assert SipUri.parse(str(uri)) == uri


def test_user_may_hold_reserved_characters_unescaped() -> None:
    uri = SipUri.parse("sip:user;x=1?&=+$,/@biloxi.example.com;maddr=192.0.2.9")
    assert uri.user == "user;x=1?&=+$,/"
    assert uri.params == {"maddr": "192.0.2.9"}


def test_programmatic_user_is_escaped_on_output() -> None:
    uri = SipUri("sip", "a b@c:d", "example.com")
    assert str(uri) == "sip:a%20b%40c%3Ad@example.com"
    # read back: the space is unreserved (decoded), '@' and ':' are reserved (kept)
    assert SipUri.parse(str(uri)).user == "a b%40c%3Ad"


def test_tel_uri() -> None:
    uri = SipUri.parse("tel:+1-201-555-0123;phone-context=example.com")
    assert (uri.scheme, uri.user, uri.host) == ("tel", "+1-201-555-0123", "")
    assert uri.params == {"phone-context": "example.com"}
    assert str(uri) == "tel:+1-201-555-0123;phone-context=example.com"


def test_other_absolute_uri_is_kept_opaque() -> None:
    uri = SipUri.parse("urn:service:sos")
    assert (uri.scheme, uri.user, uri.host) == ("urn", "service:sos", "")
    assert str(uri) == "urn:service:sos"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sip:",
        "sip:@example.com",
        "sip:alice@",
        "sip:alice@exa mple.com",
        "sip:alice@example.com:",
        "sip:alice@example.com:65536",
        "sip:alice@example.com:-1",
        "sip:alice@example.com:5x",
        "sip:al%G1ce@example.com",
        "sip:al%4ice@example.com",
        "sip:[2001:db8::zz]",
        "sip:[2001:db8::1",
        "sip:[2001:db8::1]x",
        "sip:alice@-bad.example.com",
        "sip:alice@example.com;lr;lr",
        "sip:alice@example.com;=x",
        "sip:alice@example.com;a=b c",
        "sip:alice@example.com?noequals",
        'sip:a"b@example.com',
        "tel:",
        "tel:+1 555",
        "1sip:alice@example.com",
        "no-colon",
        "mailto:has space@example.com",
    ],
)
def test_invalid_uris(text: str) -> None:
    with pytest.raises(SipParseError):
        SipUri.parse(text)


# --- Address -----------------------------------------------------------------------


def test_name_addr_with_quoted_display_and_params() -> None:
    a = Address.parse(
        '"Alice \\"A\\" Liddell" <sip:alice@atlanta.example.com;lr>;tag=88sja8x;q=0.5'
    )
    assert a.display == 'Alice "A" Liddell'
    assert a.uri.params == {"lr": None}
    assert a.params == {"tag": "88sja8x", "q": "0.5"}
    assert a.tag == "88sja8x"
    assert str(a) == '"Alice \\"A\\" Liddell" <sip:alice@atlanta.example.com;lr>;tag=88sja8x;q=0.5'
    assert Address.parse(str(a)) == a


def test_token_display_name_and_spacing() -> None:
    a = Address.parse("  Bob   Smith<sip:bob@biloxi.example.com> ;  tag = x1  ")
    assert a.display == "Bob Smith"
    assert a.params == {"tag": "x1"}


def test_addr_spec_params_belong_to_the_header() -> None:
    # RFC 3261 20.10: without <>, ;tag is a header parameter, not a URI one.
    a = Address.parse("sip:alice@atlanta.example.com;tag=1;lr")
    assert a.uri.params == {}
    assert a.params == {"tag": "1", "lr": None}
    assert a.display is None
    assert str(a) == "<sip:alice@atlanta.example.com>;tag=1;lr"


def test_empty_quoted_display_is_none() -> None:
    assert Address.parse('"" <sip:bob@example.com>').display is None


def test_quoted_param_values_keep_their_quotes() -> None:
    text = '<sip:a@192.0.2.1>;+sip.instance="<urn:uuid:f81d4fae-7dec>";methods="INVITE,BYE"'
    a = Address.parse(text)
    assert a.params["+sip.instance"] == '"<urn:uuid:f81d4fae-7dec>"'
    assert unquote(a.params["methods"] or "") == "INVITE,BYE"
    assert str(a) == text


def test_display_with_comma_and_angle_in_quotes() -> None:
    a = Address.parse('"Desk, <left>" <sip:a@example.com>')
    assert a.display == "Desk, <left>"
    assert Address.parse(str(a)) == a


def test_utf8_display() -> None:
    a = Address.parse('"Zoë 日本" <sip:zoe@example.com>')
    assert a.display == "Zoë 日本"


def test_programmatic_display_is_quoted() -> None:
    a = Address(SipUri("sip", "bob", "example.com"), display='Say "hi" \\ bye')
    assert str(a) == '"Say \\"hi\\" \\\\ bye" <sip:bob@example.com>'
    assert Address.parse(str(a)) == a


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '"unterminated <sip:a@example.com>',
        '"Alice" sip:a@example.com',
        "<sip:a@example.com",
        "sip:a@example.com>",
        "<sip:a@example.com>, <sip:b@example.com>",
        "<sip:a@example.com> trailing",
        "<sip:a@example.com>;tag=1;tag=2",
        '<sip:a@example.com>;tag="open',
        "<sip:a@example.com>;;",
        "<sip:a@example.com>;bad param=1",
        "sip:a@example.com, sip:b@example.com",
        "<>",
        "*",
    ],
)
def test_invalid_addresses(text: str) -> None:
    with pytest.raises(SipParseError):
        Address.parse(text)


# --- Via ----------------------------------------------------------------------------


def test_via_basic() -> None:
    v = Via.parse("SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;rport")
    assert (v.transport, v.host, v.port) == ("UDP", "pc33.atlanta.example.com", 5066)
    assert v.params == {"branch": "z9hG4bK776asdhds", "rport": None}
    assert v.branch == "z9hG4bK776asdhds"
    assert str(v) == "SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;rport"


def test_via_lws_everywhere_and_case() -> None:
    v = Via.parse("  sip / 2.0 / tcp   host.example.com : 5060 ; Branch = z9hG4bKx ; RPORT ")
    assert (v.transport, v.host, v.port) == ("TCP", "host.example.com", 5060)
    assert v.params == {"branch": "z9hG4bKx", "rport": None}


def test_via_ipv6_and_received() -> None:
    v = Via.parse("SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKv6;received=2001:db8::9:255")
    assert v.host == "[2001:db8::9:1]"
    assert v.params["received"] == "2001:db8::9:255"
    assert Via.parse(str(v)) == v


def test_via_mutation_renders() -> None:
    v = Via.parse("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa;rport")
    v.params["rport"] = "5062"
    v.params["received"] = "192.0.2.9"
    assert str(v) == "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa;rport=5062;received=192.0.2.9"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP ;branch=x",
        "SIP/3.0/UDP host",
        "HTTP/2.0/UDP host",
        "SIP/2.0 host",
        "SIP/2.0/UDP host:99999",
        "SIP/2.0/UDP host:port",
        "SIP/2.0/UDP [::zz]",
        "SIP/2.0/UDP host;branch=a;branch=b",
        'SIP/2.0/UDP host;branch="open',
        "SIP/2.0/UDP host extra",
        "SIP/2.0/UDP a, SIP/2.0/UDP b",
    ],
)
def test_invalid_vias(text: str) -> None:
    with pytest.raises(SipParseError):
        Via.parse(text)


# --- helpers -------------------------------------------------------------------------


def test_split_list_respects_quotes_and_brackets() -> None:
    value = '"a, b" <sip:x@y;p=1,2>;q=1 , <sip:z@w>,, "q\\"," <sip:v@u>'
    assert split_list(value) == ['"a, b" <sip:x@y;p=1,2>;q=1', "<sip:z@w>", '"q\\"," <sip:v@u>']
    assert split_list("") == []
    assert split_list("single") == ["single"]


def test_parse_params_quoted_and_flags() -> None:
    assert parse_params(' ; A = 1 ;flag; b="x;y"') == {"a": "1", "flag": None, "b": '"x;y"'}
    assert parse_params("") == {}


def test_parse_errors_carry_request_none() -> None:
    with pytest.raises(SipParseError) as info:
        SipUri.parse("sip:")
    assert info.value.request is None  # type: ignore[attr-defined]
    assert info.value.status == 400
