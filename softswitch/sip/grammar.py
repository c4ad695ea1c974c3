"""The shared grammar of RFC 3261 section 25: tokens, quoted strings, escapes,
parameters, comma lists, host and port.

Everything that reads or writes header values builds on these (uri, address,
via, headers, the parser, the framer, auth and sdp), so each rule is written
once.  Parsers raise ``SipParseError``, never another exception type, and
accept the oddities of RFC 4475 (LWS around separators, escaped user parts,
IPv6 hosts).
"""

from __future__ import annotations

import ipaddress
import re

from .errors import SipParseError

__all__ = [
    "BLANK_LINE_RE",
    "HOSTNAME",
    "TOKEN",
    "TOKEN_CHARS",
    "TOKEN_RE",
    "digits",
    "escape",
    "format_params",
    "normalise_escapes",
    "parse_host",
    "parse_params",
    "parse_port",
    "quote",
    "read_quoted",
    "split_hostport",
    "split_list",
    "unquote",
]

# --- character classes (RFC 3261 25.1) ---------------------------------------------

# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
TOKEN_RE = re.compile(TOKEN)
# hostname / IPv4; '_' is tolerated because real deployments use it.
HOSTNAME = r"[A-Za-z0-9_](?:[A-Za-z0-9\-_.]*[A-Za-z0-9_])?\.?"
_HOSTNAME_RE = re.compile(HOSTNAME)
_PORT_RE = re.compile(r"[0-9]{1,5}")
_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_RESERVED = frozenset(";/?:@&=+$,")
# gen-value = token / host / quoted-string; the unquoted forms, leniently
_GENVALUE_RE = re.compile(r"[^\s;,\"<>=\x00-\x1f\x7f]+")
# One header parameter with an unquoted value (quoted ones take the slow path).
_PARAM_FAST_RE = re.compile(
    r"[ \t]*;[ \t]*(" + TOKEN + r")(?:[ \t]*=[ \t]*([^\s;,\"<>=\x00-\x1f\x7f]+))?[ \t]*"
)
# The empty line that ends a header section (a bare LF is tolerated).
BLANK_LINE_RE = re.compile(rb"\n\r?\n")


def digits(text: str, limit: int = 10) -> int | None:
    """A bounded non-negative decimal, or None (int() alone accepts '+1', ' 1', '١')."""
    if 0 < len(text) <= limit and text.isascii() and text.isdigit():
        return int(text)
    return None


# --- escapes (RFC 3261 19.1.2, 19.1.4) ---------------------------------------------


def normalise_escapes(text: str) -> str:
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


def escape(text: str, safe: frozenset[str]) -> str:
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


# --- quoted strings (RFC 3261 25.1: quoted-string, quoted-pair) ---------------------


def read_quoted(text: str, start: int) -> tuple[str, int]:
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
                raise SipParseError("bad escape in quoted string")
            out.append(nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    raise SipParseError("unterminated quoted string")


def unquote(value: str) -> str:
    """The content of a quoted-string (escapes removed), or the value unchanged."""
    value = value.strip()
    if value.startswith('"'):
        text, end = read_quoted(value, 0)
        if end != len(value):
            raise SipParseError("text after quoted string")
        return text
    return value


def quote(text: str) -> str:
    """Render ``text`` as a quoted-string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- comma lists and parameters (RFC 3261 7.3.1, 25.1 generic-param) -----------------


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
            _, i = read_quoted(text, i)
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
            raise SipParseError(f"duplicate parameter {name!r}")
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
        raise SipParseError(f"unexpected text {text[:20]!r}")
    for piece in _split_semicolons(text[1:]):
        name, eq, value = piece.partition("=")
        name = name.strip()
        if not TOKEN_RE.fullmatch(name):
            raise SipParseError(f"bad parameter name {name[:20]!r}")
        name = name.lower()
        if name in params:
            raise SipParseError(f"duplicate parameter {name!r}")
        if not eq:
            params[name] = None
            continue
        value = value.strip()
        if value.startswith('"'):
            _, end = read_quoted(value, 0)
            if end != len(value):
                raise SipParseError(f"text after quoted value of {name!r}")
        elif not _GENVALUE_RE.fullmatch(value):
            raise SipParseError(f"bad value of parameter {name!r}")
        params[name] = value
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


# --- host and port (RFC 3261 25.1 hostport) ----------------------------------------------


def parse_host(text: str) -> str:
    if text.startswith("["):
        if not text.endswith("]"):
            raise SipParseError(f"bad IPv6 reference {text[:50]!r}")
        try:
            ipaddress.IPv6Address(text[1:-1])
        except ValueError:
            raise SipParseError(f"bad IPv6 address {text[:50]!r}") from None
        return text
    if not _HOSTNAME_RE.fullmatch(text):
        raise SipParseError(f"bad host {text[:50]!r}")
    return text


def parse_port(text: str) -> int:
    if not _PORT_RE.fullmatch(text):
        raise SipParseError(f"bad port {text[:10]!r}")
    port = int(text)
    if port > 65535:
        raise SipParseError(f"port out of range {port}")
    return port


def split_hostport(text: str) -> tuple[str, int | None]:
    """``host[:port]`` with IPv6 references in brackets."""
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise SipParseError("unterminated IPv6 reference")
        host = parse_host(text[: close + 1])
        rest = text[close + 1 :]
        if not rest:
            return host, None
        if rest[0] != ":":
            raise SipParseError(f"unexpected text after host {rest[:20]!r}")
        return host, parse_port(rest[1:])
    host, colon, port = text.partition(":")
    return parse_host(host), (parse_port(port) if colon else None)
