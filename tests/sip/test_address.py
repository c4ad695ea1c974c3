"""Address: name-addr and addr-spec (RFC 3261 20.10, 25)."""

from __future__ import annotations

import pytest

from softswitch.sip.address import Address
from softswitch.sip.errors import SipParseError
from softswitch.sip.grammar import unquote
from softswitch.sip.uri import SipUri

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
