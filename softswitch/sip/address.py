"""From/To/Contact/Route values: name-addr and addr-spec (RFC 3261 20.10, 25.1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import SipParseError
from .grammar import TOKEN, format_params, parse_params, quote, read_quoted
from .uri import SipUri

__all__ = ["Address"]

# "Display" <uri>;params or Display Words <uri>;params, no escapes in the quotes.
_NAME_ADDR_FAST_RE = re.compile(
    r"[ \t]*(?:\"([^\"\\\x00-\x1f]*)\"[ \t]*|((?:" + TOKEN + r"[ \t]+)*?" + TOKEN + r")?[ \t]*)"
    r"<([^<>\"\s]+)>[ \t]*(;.*)?",
    re.DOTALL,
)

# Unquoted display-name words: tokens (RFC 3261 25.1), and UTF-8 letters, which
# phones send unquoted although the grammar wants quotes.
_DISPLAY_WORD = r"[A-Za-z0-9\-.!%*_+`'~\x80-\U0010ffff]+"
_DISPLAY_WORDS_RE = re.compile(_DISPLAY_WORD + r"(?:[ \t]+" + _DISPLAY_WORD + r")*")


@dataclass(slots=True)
class Address:
    """From/To/Contact/Route value: ``"Display" <uri>;tag=...``.

    Without angle brackets every ';' parameter belongs to the header, not to the
    URI (RFC 3261 20.10).  ``display`` is the unquoted text, None when absent.
    """

    uri: SipUri
    display: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Address:
        m = _NAME_ADDR_FAST_RE.fullmatch(text)
        if m is not None:
            quoted, words, uri, params = m.groups()
            display = quoted if quoted is not None else words
            if display and ("  " in display or "\t" in display):
                display = " ".join(display.split())
            return cls(SipUri.parse(uri), display or None, parse_params(params) if params else {})
        return cls._parse_slow(text)

    @classmethod
    def _parse_slow(cls, text: str) -> Address:
        s = text.strip()
        if not s:
            raise SipParseError("empty address")
        display: str | None = None
        if s[0] == '"':
            display, end = read_quoted(s, 0)
            s = s[end:].lstrip()
            if not s.startswith("<"):
                raise SipParseError("quoted display name without <uri>")
        lt = s.find("<")
        if lt >= 0:
            if lt > 0:
                words = s[:lt].strip()
                if not _DISPLAY_WORDS_RE.fullmatch(words):
                    # RFC 4475 3.1.2.15: "Bell, Alexander <sip:...>" needs quotes
                    raise SipParseError(f"display name {words[:40]!r} must be quoted")
                display = " ".join(words.split())
            gt = s.find(">", lt)
            if gt < 0:
                raise SipParseError("missing '>' in address")
            uri = SipUri.parse(s[lt + 1 : gt])
            params = parse_params(s[gt + 1 :])
        else:
            spec, semi, rest = s.partition(";")
            spec = spec.rstrip(" \t")  # RFC 4475 3.1.1.1: "sip:u@h ;tag=x"
            if any(c in spec for c in ' \t,?<>"'):
                raise SipParseError(f"bad addr-spec {spec[:50]!r}")
            uri = SipUri.parse(spec)
            params = parse_params(";" + rest) if semi else {}
        return cls(uri, display or None, params)

    def __str__(self) -> str:
        uri = f"<{self.uri}>"
        if self.display:
            uri = f"{quote(self.display)} {uri}"
        if self.params:
            return uri + format_params(self.params)
        return uri

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")
