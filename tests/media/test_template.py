"""Prompt templates: {field} substitution, missing fields are errors."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.template import fields_in, render
from media.voice import TtsError


def test_render_fills_fields() -> None:
    assert (
        render("Hello {name}, your code is {otp}.", {"name": "Ann", "otp": "4821"})
        == "Hello Ann, your code is 4821."
    )
    assert render("{a}{a}", {"a": "x"}) == "xx"
    assert render("no fields", {}) == "no fields"


def test_extra_fields_are_ignored() -> None:
    assert render("{field1}", {"field1": "v", "field2": "w"}) == "v"


def test_braces_escape() -> None:
    assert render("{{literal}} {x}", {"x": "1"}) == "{literal} 1"
    assert fields_in("{{literal}}") == set()


def test_missing_fields_are_named() -> None:
    with pytest.raises(TtsError, match="missing template field: field2$"):
        render("{field1} {field2}", {"field1": "x"})
    with pytest.raises(TtsError, match="missing template fields: a, b"):
        render("{b} {a}", {})


@pytest.mark.parametrize(
    "bad", ["{", "}", "{a", "a}", "{}", "{0}", "{a.b}", "{a[0]}", "{a!x}", "{ a }"]
)
def test_malformed_templates(bad: str) -> None:
    with pytest.raises(TtsError):
        fields_in(bad)
    with pytest.raises(TtsError):
        render(bad, {"a": "1"})


def test_format_spec_and_conversion() -> None:
    assert render("[{a:>4}]", {"a": "7"}) == "[   7]"
    assert render("{a!r}", {"a": "x"}) == "'x'"
    with pytest.raises(TtsError, match="template field {a}"):
        render("{a:d}", {"a": "x"})


def test_fields_in() -> None:
    assert fields_in("Dear {first_name} {last_name}, {first_name}!") == {"first_name", "last_name"}


names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
literals = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=10)


@given(
    st.lists(st.tuples(literals, names), max_size=6),
    literals,
    st.dictionaries(names, st.text(max_size=8)),
)
def test_render_matches_str_format(
    parts: list[tuple[str, str]], tail: str, values: dict[str, str]
) -> None:
    template = "".join(f"{lit}{{{name}}}" for lit, name in parts) + tail
    fields = {name: values.get(name, name.upper()) for _, name in parts}
    assert fields_in(template) == {name for _, name in parts}
    assert render(template, fields) == template.format(**fields)
    assert fields_in(template) == {n for _, n, _, _ in string.Formatter().parse(template) if n}
