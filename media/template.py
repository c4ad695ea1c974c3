"""Prompt templates: ``"Your code is {otp}"`` filled from contact fields or a payload.

The syntax is Python's format-string syntax restricted to plain identifiers
(``{field1}``, ``{{`` and ``}}`` for literal braces), so a template that
validates here also validates with ``string.Formatter`` and the reverse. A
missing field is an error (TtsError -> HTTP 400) rather than silence on a call:
campaigns check ``fields_in(template)`` against their columns before dialing.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping

from media.voice import TtsError

__all__ = ["fields_in", "render"]

_FORMATTER = string.Formatter()


def _parts(template: str) -> Iterator[tuple[str, str | None, str, str | None]]:
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:  # unbalanced braces and the like
        raise TtsError(f"invalid template: {exc}") from None
    for literal, name, spec, conversion in parsed:
        if name is not None and not name.isidentifier():
            raise TtsError(f"invalid template variable {{{name}}}: use names like {{field1}}")
        if conversion not in (None, "s", "r", "a"):
            raise TtsError(f"invalid template conversion !{conversion} in {{{name}}}")
        yield literal, name, spec or "", conversion


def fields_in(template: str) -> set[str]:
    """The variable names a template uses. Raises TtsError for malformed templates."""
    return {name for _, name, _, _ in _parts(template) if name is not None}


def render(template: str, fields: Mapping[str, str]) -> str:
    """Fill every ``{name}``; raises TtsError naming the missing field(s)."""
    parts = list(_parts(template))
    missing = sorted({name for _, name, _, _ in parts if name is not None and name not in fields})
    if missing:
        raise TtsError(
            f"missing template field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
        )
    out: list[str] = []
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        value: object = fields[name]
        if conversion is not None:
            value = _FORMATTER.convert_field(value, conversion)
        try:
            out.append(format(value if isinstance(value, str) else str(value), spec))
        except ValueError as exc:
            raise TtsError(f"template field {{{name}}}: {exc}") from None
    return "".join(out)
