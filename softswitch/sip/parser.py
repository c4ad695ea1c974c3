"""Bytes to a SIP message (RFC 3261 sections 7, 18.3).

``parse_message`` reads the start line, splits the header section into
(name, value) entries once, and reads the headers every response needs (top
Via, From, To, Call-ID, CSeq), because whether those are readable decides
between answering 400 and dropping.  Other views are parsed on first use.

A malformed message that can still be answered is reported after everything
was read: the first problem found decides the reason and status.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .address import Address
from .errors import SipParseError
from .grammar import BLANK_LINE_RE, TOKEN_RE, digits, split_list
from .headers import KNOWN_NAMES, HeaderEntry, Headers, canonical_name
from .message import Request, Response, parse_call_id, parse_cseq
from .uri import SipUri
from .via import Via

__all__ = ["parse_message"]

# (reason, status) of the first thing found wrong
_Problem = tuple[str, int]

_FOLD_RE = re.compile(r"\n[ \t]+")
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+", re.IGNORECASE)

# Without these no response can be formed: their absence means drop.
_ESSENTIAL = (
    ("Via", "via"),
    ("From", "from"),
    ("To", "to"),
    ("Call-ID", "call-id"),
    ("CSeq", "cseq"),
)
# (view name, header key, parser) of the views read up front
_ESSENTIAL_VIEWS: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("call_id", "call-id", parse_call_id),
    ("cseq", "cseq", parse_cseq),
    ("from", "from", Address.parse),
    ("to", "to", Address.parse),
)
# The Request-URI of a request answered because it could not be read.
_UNREADABLE_URI = SipUri("sip", None, "invalid")
# Headers a message may carry at most once.
_SINGLE = ("call-id", "cseq", "from", "to", "max-forwards", "content-length", "content-type")


def parse_message(data: bytes) -> Request | Response:
    """Parse one message (a UDP datagram or what StreamFramer cut out).

    Raises SipParseError.  When the message is a request whose start line,
    top Via, From, To, Call-ID and CSeq are present (the Via readable) but
    something else is wrong, the error's ``.request`` holds the request so a
    response with ``e.status`` can be sent; otherwise ``.request`` is None.
    """
    lines, body, problem = _split_head(bytes(data))
    entries, first, lines_problem = _read_header_lines(lines)
    views: dict[str, object] = {}
    message, start_problem = _read_start_line(lines[0], Headers.from_entries(entries, views))
    views_problem = _read_essentials(first, views)
    problem = problem or start_problem or lines_problem
    if problem is None and len(first) < len(entries):
        problem = _repeated_single(entries, first)
    problem = problem or views_problem
    if problem is None and isinstance(message, Request):
        method = message.cseq[1]  # read above: no second parse
        if method != message.method:
            problem = (f"CSeq method {method!r} does not match {message.method!r}", 400)
    max_forwards = first.get("max-forwards")
    if problem is None and max_forwards is not None and digits(max_forwards) is None:
        problem = (f"bad Max-Forwards {max_forwards[:20]!r}", 400)
    message.body, body_problem = _read_body(first.get("content-length"), body)
    problem = problem or body_problem
    if problem is not None:
        request = message if isinstance(message, Request) else None
        raise SipParseError(problem[0], problem[1], request)
    return message


def _split_head(data: bytes) -> tuple[list[str], bytes, _Problem | None]:
    """The header section as unfolded lines (start line first), and the body."""
    start = 0
    n = len(data)
    while start < n and data[start] in b"\r\n":  # RFC 3261 7.5: CRLFs before start line
        start += 1
    blank = BLANK_LINE_RE.search(data, start)
    if blank is None:
        raise SipParseError("no blank line after the headers")
    end = blank.start()
    if data[end - 1 : end] == b"\r":
        end -= 1
    head_bytes = data[start:end]
    problem: _Problem | None = None
    try:
        head = head_bytes.decode("utf-8")
    except UnicodeDecodeError:
        head = head_bytes.decode("latin-1")
        problem = ("header section is not UTF-8", 400)
    lines = head.split("\r\n")
    breaks = len(lines) - 1
    if head.count("\n") != breaks or head.count("\r") != breaks:
        # bare LF line ends are tolerated; a bare CR is not
        head = head.replace("\r\n", "\n")
        if "\r" in head:
            raise SipParseError("bare CR in header section")
        lines = head.split("\n")
    if "\n " in head or "\n\t" in head:
        # RFC 3261 7.3.1: a line starting with whitespace continues the previous one
        head = _FOLD_RE.sub(" ", head.replace("\r\n", "\n"))
        lines = head.split("\n")
    return lines, data[blank.end() :], problem


def _read_header_lines(
    lines: list[str],
) -> tuple[list[HeaderEntry], dict[str, str], _Problem | None]:
    """Header entries, the value of each header's first line by key, the first bad line."""
    entries: list[HeaderEntry] = []
    first: dict[str, str] = {}
    problem: _Problem | None = None
    known_names = KNOWN_NAMES
    for line in lines[1:]:
        colon = line.find(":")
        if colon <= 0:
            problem = problem or (f"bad header line {line[:40]!r}", 400)
            continue
        name = line[:colon]
        if name[-1] in " \t":
            name = name.rstrip(" \t")
        low = name.lower()
        known = known_names.get(low)
        if known is None:
            if not TOKEN_RE.fullmatch(name):
                problem = problem or (f"bad header name {name[:40]!r}", 400)
                continue
            known = (low, name)
        key = known[0]
        value = line[colon + 1 :].strip(" \t")
        entries.append((key, known[1], value))
        if key not in first:
            first[key] = value
    return entries, first, problem


def _read_start_line(line: str, headers: Headers) -> tuple[Request | Response, _Problem | None]:
    """The message the start line announces; raises when it cannot be read at all."""
    if line.startswith("SIP/"):
        parts = line.split(" ", 2)
        status = digits(parts[1], 3) if len(parts) > 1 else None
        if parts[0].upper() != "SIP/2.0" or status is None or not 100 <= status <= 699:
            raise SipParseError(f"bad status line {line[:60]!r}")
        return Response(status, parts[2] if len(parts) > 2 else "", headers), None
    parts = line.split(" ")
    if len(parts) != 3 or not parts[1]:
        return _odd_request_line(line, headers)
    method, uri_text, version = parts
    problem: _Problem | None = None
    if not TOKEN_RE.fullmatch(method):
        if not _VERSION_RE.fullmatch(version):
            raise SipParseError(f"bad request line {line[:60]!r}")
        problem = (f"bad method {method[:20]!r}", 400)
    try:
        uri = SipUri.parse(uri_text)
    except SipParseError as exc:
        # RFC 4475 3.1.2.7 (<sip:...>): a bad Request-URI is answered, not dropped
        uri, problem = _UNREADABLE_URI, problem or (f"bad Request-URI: {exc.reason}", 400)
    if version.upper() != "SIP/2.0":
        if _VERSION_RE.fullmatch(version):
            problem = (f"SIP version {version[:20]} not supported", 505)
        else:
            problem = (f"bad SIP version {version[:20]!r}", 400)
    elif problem is None and uri.scheme not in ("sip", "sips", "tel"):
        problem = (f"unsupported URI scheme {uri.scheme!r}", 416)
    return Request(method, uri, headers), problem


def _odd_request_line(line: str, headers: Headers) -> tuple[Request, _Problem]:
    """A request line that is not ``method SP uri SP version``, answered when it
    still starts with a method and ends with a SIP version (RFC 4475 3.1.2.8-10)."""
    words = line.split()
    if len(words) < 3 or not TOKEN_RE.fullmatch(words[0]) or not _VERSION_RE.fullmatch(words[-1]):
        raise SipParseError(f"bad request line {line[:60]!r}")
    if len(words) > 3:
        problem = "whitespace in the Request-URI"
    elif line != line.rstrip(" \t"):
        problem = "whitespace at the end of the Request-Line"
    else:
        problem = "more than one space between Request-Line elements"
    return Request(words[0], _UNREADABLE_URI, headers), (problem, 400)


def _read_essentials(first: dict[str, str], views: dict[str, object]) -> _Problem | None:
    """Fill ``views`` with top Via, Call-ID, CSeq, From and To.

    Raises when a response could not be routed (one is missing, or the top
    Via is unreadable); returns the first view that did not parse otherwise.
    """
    missing = [name for name, key in _ESSENTIAL if key not in first]
    if missing:
        raise SipParseError(f"missing {', '.join(missing)}")
    via_text = first["via"]
    if "," in via_text:
        via_text = (split_list(via_text) or [""])[0]
    problem: _Problem | None = None
    try:
        views["top_via"] = Via.parse(via_text)
    except SipParseError as exc:
        # answerable when the sent-by can be read (raises otherwise): RFC 4475 3.1.2.1
        views["top_via"] = Via.parse_sent_by(via_text)
        problem = (exc.reason, 400)
    for view, key, parse in _ESSENTIAL_VIEWS:
        try:
            views[view] = parse(first[key])
        except SipParseError as exc:
            problem = problem or (exc.reason, 400)
    return problem


def _repeated_single(entries: list[HeaderEntry], first: dict[str, str]) -> _Problem | None:
    for key in _SINGLE:
        if key in first and sum(1 for entry in entries if entry[0] == key) > 1:
            return (f"more than one {canonical_name(key)} header", 400)
    return None


def _read_body(length_text: str | None, body: bytes) -> tuple[bytes, _Problem | None]:
    """The body as Content-Length delimits it (RFC 3261 18.3: extra bytes are discarded)."""
    if length_text is None:
        return body, None
    length = digits(length_text)
    if length is None:
        return body, (f"bad Content-Length {length_text[:20]!r}", 400)
    if length > len(body):
        return body, ("Content-Length larger than the body", 400)
    return body[:length] if length < len(body) else body, None
