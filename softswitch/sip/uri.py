"""SIP values that are more than a string: URIs, name-addr, Via (RFC 3261 19.1, 20, 25).

Parsing follows the ABNF of RFC 3261 section 25 closely enough to reject what is
malformed (``SipParseError``, never another exception type) while accepting the
oddities of RFC 4475 (LWS around separators, escaped user parts, IPv6 hosts).

Normalisations, so that plain string comparison matches RFC 3261 19.1.4:
- schemes, transports and parameter names are case-folded (schemes and parameter
  names to lower case, Via transports to upper case);
- the user and password parts of sip/sips URIs are stored with ``%XX`` escapes
  decoded, except for reserved characters and ``%`` itself, whose escapes are kept
  (``%2B`` is not the same user as ``+``); ``str()`` escapes again what needs it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from .errors import SipParseError

__all__ = [
    "Address",
    "SipUri",
    "Via",
    "format_params",
    "parse_params",
    "split_list",
    "unquote",
    "quote",
]


def error(reason: str, status: int = 400) -> SipParseError:
    """A SipParseError with ``.request`` present (None: nothing to answer)."""
    exc = SipParseError(reason, status)
    exc.request = None  # type: ignore[attr-defined]
    return exc


# --- character classes (RFC 3261 section 25.1) ----------------------------------

_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_TOKEN_RE = re.compile(_TOKEN)
_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
# user = 1*( unreserved / escaped / user-unreserved )
_USER_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+")
_PASSWORD_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*")
_PARAMCHARS_RE = re.compile(r"(?:[\[\]/:&+$A-Za-z0-9\-_.!~*'()]|%[0-9A-Fa-f]{2})+")
_HNVCHARS_RE = re.compile(r"(?:[\[\]/?:+$A-Za-z0-9\-_.!~*'()]|%[0-9A-Fa-f]{2})*")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_TEL_RE = re.compile(r"[A-Za-z0-9+\-.()*#%]+")
_OPAQUE_RE = re.compile(r"[^\s<>\"\x00-\x1f\x7f]+")
# gen-value = token / host / quoted-string; the unquoted forms, leniently
_GENVALUE_RE = re.compile(r"[^\s;,\"<>=\x00-\x1f\x7f]+")
_PORT_RE = re.compile(r"[0-9]{1,5}")
# hostname / IPv4; '_' is tolerated because real deployments use it.
_HOSTNAME = r"[A-Za-z0-9_](?:[A-Za-z0-9\-_.]*[A-Za-z0-9_])?\.?"
_HOSTNAME_RE = re.compile(_HOSTNAME)
# The common shape of a sip: URI after the scheme, without escapes or IPv6:
# user@host:port;params (the slow path handles everything else).
_SIP_FAST_RE = re.compile(
    r"(?:([A-Za-z0-9\-_.!~*'()&=+$,;?/]+)@)?(" + _HOSTNAME + r")(?::([0-9]{1,5}))?"
    r"((?:;[A-Za-z0-9\-_.!~*'()\[\]/:&+$]+(?:=[A-Za-z0-9\-_.!~*'()\[\]/:&+$]+)?)*)"
)
# One header parameter with an unquoted value (quoted ones take the slow path).
_PARAM_FAST_RE = re.compile(
    r"[ \t]*;[ \t]*(" + _TOKEN + r")(?:[ \t]*=[ \t]*([^\s;,\"<>=\x00-\x1f\x7f]+))?[ \t]*"
)

_RESERVED = frozenset(";/?:@&=+$,")
_USER_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()&=+$,;?/"
)
_PASSWORD_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()&=+$,"
)


def _normalise_escapes(text: str) -> str:
    """Decode %XX escapes that RFC 3261 19.1.4 treats as equal to the character.

    Reserved characters and '%' keep their (upper-cased) escape; bytes that form
    UTF-8 sequences are decoded to the character.  Invalid UTF-8 stays escaped.
    """
    if "%" not in text:
        return text
    out: list[str] = []
    pending = bytearray()
    pos = 0

    def flush() -> None:
        if pending:
            decoded = pending.decode("utf-8", "surrogateescape")
            out.append(
                "".join(
                    f"%{ord(c) - 0xDC00:02X}" if "\udc80" <= c <= "\udcff" else c for c in decoded
                )
            )
            pending.clear()

    for m in _ESCAPE_RE.finditer(text):
        if m.start() != pos:
            flush()
            out.append(text[pos : m.start()])
        value = int(m.group(1), 16)
        char = chr(value)
        if value < 0x80 and (char in _RESERVED or char == "%"):
            flush()
            out.append(f"%{value:02X}")
        else:
            pending.append(value)
        pos = m.end()
    flush()
    out.append(text[pos:])
    return "".join(out)


def _escape(text: str, safe: frozenset[str]) -> str:
    """Escape what may not appear raw; existing %XX escapes are kept as they are."""
    if all(c in safe for c in text) and "%" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in safe:
            out.append(c)
        elif c == "%" and _ESCAPE_RE.match(text, i):
            out.append(text[i : i + 3])
            i += 3
            continue
        else:
            out.append("".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass")))
        i += 1
    return "".join(out)


# --- quoted strings, parameters, comma lists -------------------------------------


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read the quoted-string at ``text[start] == '"'``; return (unescaped, index after)."""
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= n:
                break
            nxt = text[i + 1]
            if nxt in "\r\n":
                raise error("bad escape in quoted string")
            out.append(nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    raise error("unterminated quoted string")


def unquote(value: str) -> str:
    """The content of a quoted-string (escapes removed), or the value unchanged."""
    value = value.strip()
    if value.startswith('"'):
        text, end = _read_quoted(value, 0)
        if end != len(value):
            raise error("text after quoted string")
        return text
    return value


def quote(text: str) -> str:
    """Render ``text`` as a quoted-string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_list(value: str) -> list[str]:
    """Split a header value at commas outside quoted strings and <...>.

    Empty elements are dropped.  An unterminated quote or bracket keeps the
    rest as one element, for the structured parser to reject.
    """
    if "," not in value:
        value = value.strip()
        return [value] if value else []
    parts: list[str] = []
    start = 0
    in_quote = False
    in_angle = False
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if in_quote:
            if c == "\\":
                i += 1
            elif c == '"':
                in_quote = False
        elif c == '"':
            in_quote = True
        elif c == "<":
            in_angle = True
        elif c == ">":
            in_angle = False
        elif c == "," and not in_angle:
            part = value[start:i].strip()
            if part:
                parts.append(part)
            start = i + 1
        i += 1
    part = value[start:].strip()
    if part:
        parts.append(part)
    return parts


def _split_semicolons(text: str) -> list[str]:
    """Split at ';' outside quoted strings (raises on an unterminated quote)."""
    if '"' not in text:
        return text.split(";")
    parts: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            _, i = _read_quoted(text, i)
            continue
        if c == ";":
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def parse_params(text: str) -> dict[str, str | None]:
    """Parse ``;name=value;flag`` (header parameters: gen-value or quoted-string).

    Names are lower-cased; quoted values keep their quotes so that they render
    back unchanged.  Duplicate names are an error (which one would count?).
    """
    params: dict[str, str | None] = {}
    pos = 0
    n = len(text)
    match = _PARAM_FAST_RE.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            break
        name = m.group(1).lower()
        if name in params:
            raise error(f"duplicate parameter {name!r}")
        params[name] = m.group(2)
        pos = m.end()
    else:
        return params
    return _parse_params_slow(text)


def _parse_params_slow(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    text = text.strip()
    if not text:
        return params
    if text[0] != ";":
        raise error(f"unexpected text {text[:20]!r}")
    for piece in _split_semicolons(text[1:]):
        name, eq, value = piece.partition("=")
        name = name.strip()
        if not _TOKEN_RE.fullmatch(name):
            raise error(f"bad parameter name {name[:20]!r}")
        name = name.lower()
        if name in params:
            raise error(f"duplicate parameter {name!r}")
        if not eq:
            params[name] = None
            continue
        value = value.strip()
        if value.startswith('"'):
            _, end = _read_quoted(value, 0)
            if end != len(value):
                raise error(f"text after quoted value of {name!r}")
        elif not _GENVALUE_RE.fullmatch(value):
            raise error(f"bad value of parameter {name!r}")
        params[name] = value
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def _parse_uri_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for piece in text.split(";"):
        name, eq, value = piece.partition("=")
        if not _PARAMCHARS_RE.fullmatch(name):
            raise error(f"bad URI parameter {piece[:20]!r}")
        name = name.lower()
        if name in params:
            raise error(f"duplicate URI parameter {name!r}")
        if eq:
            if not _PARAMCHARS_RE.fullmatch(value):
                raise error(f"bad value of URI parameter {name!r}")
            params[name] = value
        else:
            params[name] = None
    return params


def _parse_host(text: str) -> str:
    if text.startswith("["):
        if not text.endswith("]"):
            raise error(f"bad IPv6 reference {text[:50]!r}")
        try:
            ipaddress.IPv6Address(text[1:-1])
        except ValueError:
            raise error(f"bad IPv6 address {text[:50]!r}") from None
        return text
    if not _HOSTNAME_RE.fullmatch(text):
        raise error(f"bad host {text[:50]!r}")
    return text


def _parse_port(text: str) -> int:
    if not _PORT_RE.fullmatch(text):
        raise error(f"bad port {text[:10]!r}")
    port = int(text)
    if port > 65535:
        raise error(f"port out of range {port}")
    return port


def _split_hostport(text: str) -> tuple[str, int | None]:
    """``host[:port]`` with IPv6 references in brackets."""
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise error("unterminated IPv6 reference")
        host = _parse_host(text[: close + 1])
        rest = text[close + 1 :]
        if not rest:
            return host, None
        if rest[0] != ":":
            raise error(f"unexpected text after host {rest[:20]!r}")
        return host, _parse_port(rest[1:])
    host, colon, port = text.partition(":")
    return _parse_host(host), (_parse_port(port) if colon else None)


# --- SipUri -----------------------------------------------------------------------


@dataclass(slots=True)
class SipUri:
    """A sip:, sips: or tel: URI.

    For tel: the number is in ``user`` and ``host`` is ''.  Other absolute URIs
    (e.g. ``urn:``, ``mailto:`` in a Contact) parse too: ``user`` holds the part
    after the colon unchanged and ``host`` is ''.
    """

    scheme: str
    user: str | None
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    password: str | None = None

    @classmethod
    def parse(cls, text: str) -> SipUri:
        colon = text.find(":")
        if colon <= 0:
            raise error(f"not a URI: {text[:50]!r}")
        scheme = text[:colon].lower()
        rest = text[colon + 1 :]
        if scheme == "sip" or scheme == "sips":
            return cls._parse_sip(scheme, rest)
        if scheme == "tel":
            return cls._parse_tel(rest)
        if not _SCHEME_RE.fullmatch(scheme) or not _OPAQUE_RE.fullmatch(rest):
            raise error(f"not a URI: {text[:50]!r}")
        return cls(scheme, rest, "")

    @classmethod
    def _parse_sip(cls, scheme: str, rest: str) -> SipUri:
        m = _SIP_FAST_RE.fullmatch(rest)
        if m is not None:
            user, host, port_text, params_text = m.groups()
            port = None
            if port_text is not None:
                port = int(port_text)
                if port > 65535:
                    raise error(f"port out of range {port}")
            params = _parse_uri_params(params_text[1:]) if params_text else {}
            return cls(scheme, user, host, port, params)
        return cls._parse_sip_slow(scheme, rest)

    @classmethod
    def _parse_sip_slow(cls, scheme: str, rest: str) -> SipUri:
        user: str | None = None
        password: str | None = None
        at = rest.find("@")
        if at >= 0:
            userinfo = rest[:at]
            rest = rest[at + 1 :]
            user, colon, pw = userinfo.partition(":")
            if not _USER_RE.fullmatch(user):
                raise error(f"bad user part {userinfo[:50]!r}")
            user = _normalise_escapes(user)
            if colon:
                if not _PASSWORD_RE.fullmatch(pw):
                    raise error("bad password part")
                password = _normalise_escapes(pw)
        headers: dict[str, str] = {}
        q = rest.find("?")
        if q >= 0:
            for pair in rest[q + 1 :].split("&"):
                name, eq, value = pair.partition("=")
                if (
                    not eq
                    or not name
                    or not _HNVCHARS_RE.fullmatch(name)
                    or not (_HNVCHARS_RE.fullmatch(value))
                ):
                    raise error(f"bad URI header {pair[:30]!r}")
                headers[name] = value
            rest = rest[:q]
        params: dict[str, str | None] = {}
        semi = rest.find(";")
        if semi >= 0:
            params = _parse_uri_params(rest[semi + 1 :])
            rest = rest[:semi]
        host, port = _split_hostport(rest)
        return cls(scheme, user, host, port, params, headers, password)

    @classmethod
    def _parse_tel(cls, rest: str) -> SipUri:
        number, semi, params_text = rest.partition(";")
        if not _TEL_RE.fullmatch(number):
            raise error(f"bad tel number {number[:30]!r}")
        params = _parse_uri_params(params_text) if semi else {}
        return cls("tel", number, "", None, params)

    def __str__(self) -> str:
        scheme = self.scheme
        if scheme == "tel":
            return f"tel:{self.user or ''}{format_params(self.params)}"
        if scheme != "sip" and scheme != "sips":
            return f"{scheme}:{self.user or ''}"
        parts = [scheme, ":"]
        if self.user is not None:
            parts.append(_escape(self.user, _USER_SAFE))
            if self.password is not None:
                parts.append(":")
                parts.append(_escape(self.password, _PASSWORD_SAFE))
            parts.append("@")
        parts.append(self.host)
        if self.port is not None:
            parts.append(f":{self.port}")
        if self.params:
            parts.append(format_params(self.params))
        if self.headers:
            parts.append("?" + "&".join(f"{k}={v}" for k, v in self.headers.items()))
        return "".join(parts)

    @property
    def host_port(self) -> tuple[str, int | None]:
        return self.host, self.port


# --- Address (name-addr / addr-spec) -------------------------------------------------


# "Display" <uri>;params or Display Words <uri>;params, no escapes in the quotes.
_NAME_ADDR_FAST_RE = re.compile(
    r"[ \t]*(?:\"([^\"\\\x00-\x1f]*)\"[ \t]*|((?:" + _TOKEN + r"[ \t]+)*?" + _TOKEN + r")?[ \t]*)"
    r"<([^<>\"\s]+)>[ \t]*(;.*)?",
    re.DOTALL,
)


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
            raise error("empty address")
        display: str | None = None
        if s[0] == '"':
            display, end = _read_quoted(s, 0)
            s = s[end:].lstrip()
            if not s.startswith("<"):
                raise error("quoted display name without <uri>")
        lt = s.find("<")
        if lt >= 0:
            if lt > 0:
                words = s[:lt].strip()
                if '"' in words or ">" in words:
                    raise error("bad display name")
                display = " ".join(words.split())
            gt = s.find(">", lt)
            if gt < 0:
                raise error("missing '>' in address")
            uri = SipUri.parse(s[lt + 1 : gt])
            params = parse_params(s[gt + 1 :])
        else:
            spec, semi, rest = s.partition(";")
            if any(c in spec for c in ' \t,?<>"'):
                raise error(f"bad addr-spec {spec[:50]!r}")
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


# --- Via -------------------------------------------------------------------------------

_VIA_RE = re.compile(
    r"[ \t]*SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*(" + _TOKEN + r")[ \t]+"
    r"(\[[0-9A-Fa-f:.]+\]|" + _HOSTNAME + r")"
    r"(?:[ \t]*:[ \t]*([0-9]+))?"
    r"[ \t]*(;.*)?",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(slots=True)
class Via:
    """One Via value (RFC 3261 20.42); only SIP/2.0 is accepted."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        m = _VIA_RE.fullmatch(text.rstrip())
        if m is None:
            raise error(f"bad Via {text[:60]!r}")
        transport, host, port, params = m.groups()
        return cls(
            transport.upper(),
            _parse_host(host) if host[0] == "[" else host,
            _parse_port(port) if port is not None else None,
            parse_params(params) if params else {},
        )

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"SIP/2.0/{self.transport} {self.host}{port}{format_params(self.params)}"

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")
