"""The shared grammar: lists, parameters, quoted strings, escapes, host/port (RFC 3261 25)."""

from __future__ import annotations

import pytest

from softswitch.sip.errors import SipParseError
from softswitch.sip.grammar import parse_params, split_list
from softswitch.sip.uri import SipUri

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
