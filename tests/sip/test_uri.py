"""SipUri: sip, sips, tel and opaque URIs (RFC 3261 19.1, 25; RFC 3966)."""

from __future__ import annotations

import pytest

from softswitch.sip.errors import SipParseError
from softswitch.sip.uri import SipUri

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
    assert (uri.scheme, uri.user, uri.host) == ("tel", "+12015550123", "")
    assert uri.params == {"phone-context": "example.com"}
    assert str(uri) == "tel:+12015550123;phone-context=example.com"


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


def test_tel_numbers_lose_their_visual_separators() -> None:
    assert SipUri.parse("tel:+1-201-555-0123").user == "+12015550123"
    assert SipUri.parse("tel:+1.(201).555.0123").number == "+12015550123"
    local = SipUri.parse("tel:7042;phone-context=+1-201-555")
    assert (local.user, local.params) == ("7042", {"phone-context": "+1201555"})
    assert SipUri.parse("tel:*67#;phone-context=example.com").number == "*67#"
    for bad in ("tel:+", "tel:+1-201 555", "tel:12x4", "tel:+12;;"):
        with pytest.raises(SipParseError):
            SipUri.parse(bad)


def test_user_phone_uri_routes_by_its_number() -> None:
    uri = SipUri.parse("sip:+1-201-555-0123;npdi;rn=+1-201-555-0000@carrier.invalid;user=phone")
    assert uri.number == "+12015550123"
    assert SipUri.parse("sip:1-0-2@h;user=phone").number == "102"
    # without user=phone the user part is a user name, not a number
    assert SipUri.parse("sip:alice;x=1@h").number == "alice;x=1"
    assert SipUri.parse("sip:h").number is None
