"""The shared grammar: lists, parameters, quoted strings, escapes, host/port (RFC 3261 25)."""

from __future__ import annotations

import pytest

from softswitch.sip.errors import SipParseError
from softswitch.sip.grammar import (
    TOKEN_CHARS,
    TOKEN_RE,
    digits,
    escape,
    format_params,
    normalise_escapes,
    parse_host,
    parse_params,
    parse_port,
    quote,
    read_quoted,
    split_hostport,
    split_list,
    unquote,
)
from softswitch.sip.uri import SipUri

# --- lists and parameters ------------------------------------------------------------


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
    assert info.value.request is None
    assert info.value.status == 400


def test_parse_params_rejects_duplicates_and_bad_names() -> None:
    for text in (";a=1;A=2", ";a b=1", ';a="open', ";=1", "x;a=1", ';a="x" y'):
        with pytest.raises(SipParseError):
            parse_params(text)


def test_format_params_round_trip() -> None:
    params = parse_params(';lr;transport=tcp;x="a b"')
    assert format_params(params) == ';lr;transport=tcp;x="a b"'


# --- tokens ------------------------------------------------------------------------------


def test_token_is_rfc_3261_token() -> None:
    assert set("-.!%*_+`'~") <= TOKEN_CHARS
    assert all(c not in TOKEN_CHARS for c in '#$&^|()<>@,;:\\"/[]?={} \t')
    assert TOKEN_RE.fullmatch("Digest") and not TOKEN_RE.fullmatch("a b")


@pytest.mark.parametrize(
    ("text", "limit", "value"),
    [("0", 10, 0), ("0070", 10, 70), ("12345678901", 10, None), ("", 10, None), ("+1", 10, None),
     (" 1", 10, None), ("\u0661", 10, None), ("999", 3, 999), ("1000", 3, None)],
)  # fmt: skip
def test_digits(text: str, limit: int, value: int | None) -> None:
    assert digits(text, limit) == value


# --- quoted strings -------------------------------------------------------------------------


def test_read_quoted_returns_text_and_the_index_after() -> None:
    text = 'x="a \\"b\\\\" rest'
    assert read_quoted(text, 2) == ('a "b\\', 11)
    for bad in ('"open', '"ends in a backslash\\', '"escaped\\\nbreak"'):
        with pytest.raises(SipParseError):
            read_quoted(bad, 0)


@pytest.mark.parametrize("text", ["", "plain", 'with "quotes"', "back\\slash", "ünï"])
def test_quote_and_unquote_round_trip(text: str) -> None:
    quoted = quote(text)
    assert quoted.startswith('"') and quoted.endswith('"')
    assert unquote(quoted) == text
    assert unquote(f"  {quoted} ") == text


def test_unquote_leaves_tokens_and_refuses_trailing_text() -> None:
    assert unquote(" token ") == "token"
    with pytest.raises(SipParseError):
        unquote('"a" b')


# --- escapes ----------------------------------------------------------------------------------


def test_normalise_escapes_keeps_reserved_and_percent() -> None:
    assert normalise_escapes("al%69ce") == "alice"
    assert normalise_escapes("a%2bb%2525") == "a%2Bb%2525"
    assert normalise_escapes("%C3%BC") == "ü"
    assert normalise_escapes("%FF") == "%FF"  # not UTF-8: stays escaped
    assert normalise_escapes("plain") == "plain"


def test_escape_keeps_existing_escapes() -> None:
    safe = frozenset("abc")
    assert escape("abc", safe) == "abc"
    assert escape("a b", safe) == "a%20b"
    assert escape("a%2Bb", safe) == "a%2Bb"
    assert escape("ü", safe) == "%C3%BC"
    assert escape("a%zz", frozenset("az")) == "a%25zz"  # a lone % is escaped


# --- host and port --------------------------------------------------------------------------


def test_hostport() -> None:
    assert split_hostport("example.com") == ("example.com", None)
    assert split_hostport("192.0.2.1:5061") == ("192.0.2.1", 5061)
    assert split_hostport("[2001:db8::1]:5060") == ("[2001:db8::1]", 5060)
    assert split_hostport("[::1]") == ("[::1]", None)
    assert parse_host("host_with_underscore.example.") == "host_with_underscore.example."
    assert parse_port("65535") == 65535


@pytest.mark.parametrize(
    "text", ["[2001:db8::1", "[nothex]", "[::1]x", "exa mple.com", "-bad", "h:", "h:65536", "h:1a"]
)
def test_bad_hostport(text: str) -> None:
    with pytest.raises(SipParseError):
        split_hostport(text)
