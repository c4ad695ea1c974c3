"""SIP messages: parse, build and serialize (RFC 3261 sections 7, 8.2.6, 18.3, 20).

Parsing splits the header section into (name, value) pairs once; structured
views (Via, From, To, CSeq, Contact, ...) are parsed on first access and cached
until the headers change.  ``parse_message`` itself reads the start line and
the headers every response needs (top Via, From, To, Call-ID, CSeq), because
whether those are readable decides between answering 400 and dropping.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import SipParseError
from .uri import Address, SipUri, Via, error, split_list

__all__ = [
    "REASON_PHRASES",
    "Headers",
    "Request",
    "Response",
    "StreamFramer",
    "canonical_name",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse_message",
    "reason_phrase",
]

# --- header names ---------------------------------------------------------------------

_WELL_KNOWN = (
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Accept-Resource-Priority",
    "Alert-Info", "Allow", "Allow-Events", "Answer-Mode", "Authentication-Info",
    "Authorization", "Call-ID", "Call-Info", "Contact", "Content-Disposition",
    "Content-Encoding", "Content-ID", "Content-Language", "Content-Length", "Content-Type",
    "CSeq", "Date", "Diversion", "Error-Info", "Event", "Expires", "Feature-Caps", "Flow-Timer",
    "From", "Geolocation", "History-Info", "Identity", "Identity-Info", "In-Reply-To", "Join",
    "Max-Breadth", "Max-Forwards", "MIME-Version", "Min-Expires", "Min-SE", "Organization",
    "P-Asserted-Identity", "P-Associated-URI", "P-Called-Party-ID", "P-Charging-Vector",
    "P-Preferred-Identity", "P-Access-Network-Info", "Path", "Priority", "Privacy",
    "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "RAck", "Reason",
    "Record-Route", "Refer-Sub", "Refer-To", "Referred-By", "Reject-Contact", "Remote-Party-ID",
    "Replaces", "Reply-To", "Request-Disposition", "Require", "Resource-Priority",
    "Retry-After", "Route", "RSeq", "Security-Client", "Security-Server", "Security-Verify",
    "Server", "Service-Route", "Session-Expires", "SIP-ETag", "SIP-If-Match", "Subject",
    "Subscription-State", "Supported", "Target-Dialog", "Timestamp", "To", "Unsupported",
    "User-Agent", "Via", "Warning", "WWW-Authenticate",
)  # fmt: skip

# RFC 3261 7.3.3 and the extensions that registered a compact form.
_COMPACT = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "d": "Request-Disposition",
    "e": "Content-Encoding", "f": "From", "i": "Call-ID", "j": "Reject-Contact",
    "k": "Supported", "l": "Content-Length", "m": "Contact", "n": "Identity-Info",
    "o": "Event", "r": "Refer-To", "s": "Subject", "t": "To", "u": "Allow-Events",
    "v": "Via", "x": "Session-Expires", "y": "Identity",
}  # fmt: skip

# lower-case spelling (long or compact) -> canonical spelling
_NAMES: dict[str, str] = {name.lower(): name for name in _WELL_KNOWN}
_NAMES.update(_COMPACT)
# lower-case spelling -> lookup key (the canonical name, lower-cased)
_KEYS: dict[str, str] = {low: name.lower() for low, name in _NAMES.items()}
_KEYED: dict[str, tuple[str, str]] = {low: (name.lower(), name) for low, name in _NAMES.items()}

# Headers whose grammar is a comma-separated list (RFC 3261 7.3.1).  Everything
# else, unknown headers included, is never split: the comma in a User-Agent, a
# Date or a digest challenge is not a separator.
_LIST_HEADERS = frozenset(
    n.lower()
    for n in (
        "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info",
        "Allow", "Allow-Events", "Call-Info", "Contact", "Content-Encoding",
        "Content-Language", "Error-Info", "History-Info", "In-Reply-To", "P-Asserted-Identity",
        "P-Associated-URI", "P-Preferred-Identity", "Path", "Proxy-Require", "Reason",
        "Record-Route", "Reject-Contact", "Request-Disposition", "Require", "Route",
        "Security-Client", "Security-Server", "Security-Verify", "Service-Route",
        "Supported", "Unsupported", "Via", "Warning", "Diversion",
    )
)  # fmt: skip

# Headers a message may carry at most once.
_SINGLE = ("call-id", "cseq", "from", "to", "max-forwards", "content-length", "content-type")

_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_BLANK_LINE_RE = re.compile(rb"\n\r?\n")
_FOLD_RE = re.compile(r"\n[ \t]+")
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+", re.IGNORECASE)
_CALL_ID_RE = re.compile(r"[^\s\x00-\x1f\x7f]+")


def canonical_name(name: str) -> str:
    """The spelling used on output: RFC form for known and compact names, else as given."""
    return _NAMES.get(name.lower(), name)


def _key(name: str) -> str:
    low = name.lower()
    return _KEYS.get(low, low)


def _digits(text: str, limit: int = 10) -> int | None:
    """A bounded non-negative decimal, or None (int() alone accepts '+1', ' 1', '١')."""
    if 0 < len(text) <= limit and text.isascii() and text.isdigit():
        return int(text)
    return None


class Headers:
    """Ordered, case-insensitive header list.

    Compact and any-case names are stored under their canonical spelling; names
    nobody registered keep the case they arrived with.  Values are stored as
    received (folding undone, surrounding whitespace removed).
    """

    __slots__ = ("_items", "_version")

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] | None = None) -> None:
        # (key, name, value): key = canonical name lower-cased, for lookups
        self._items: list[tuple[str, str, str]] = []
        self._version = 0
        if items is not None:
            pairs = items.items() if isinstance(items, Mapping) else items
            for name, value in pairs:
                self.add(name, value)

    @classmethod
    def _trusted(cls, items: list[tuple[str, str, str]]) -> Headers:
        h = cls.__new__(cls)
        h._items = items
        h._version = 0
        return h

    @staticmethod
    def _entry(name: str, value: str) -> tuple[str, str, str]:
        low = name.lower()
        canon = _NAMES.get(low)
        if canon is None:
            if not _TOKEN_RE.fullmatch(name):
                raise ValueError(f"invalid header name {name!r}")
            canon = name
        value = str(value)
        if "\r" in value or "\n" in value:
            raise ValueError(f"line break in value of header {name!r}")
        return canon.lower(), canon, value.strip(" \t")

    def get(self, name: str, default: str | None = None) -> str | None:
        key = _key(name)
        for k, _, value in self._items:
            if k == key:
                if key in _LIST_HEADERS and "," in value:
                    parts = split_list(value)
                    return parts[0] if parts else value
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        key = _key(name)
        if key in _LIST_HEADERS:
            out: list[str] = []
            for k, _, value in self._items:
                if k == key:
                    out.extend(split_list(value))
            return out
        return [value for k, _, value in self._items if k == key]

    def set(self, name: str, value: str) -> None:
        entry = self._entry(name, value)
        key = entry[0]
        items = self._items
        for i, item in enumerate(items):
            if item[0] == key:
                items[i] = entry
                self._items = items[: i + 1] + [it for it in items[i + 1 :] if it[0] != key]
                break
        else:
            items.append(entry)
        self._version += 1

    def add(self, name: str, value: str) -> None:
        self._items.append(self._entry(name, value))
        self._version += 1

    def prepend(self, name: str, value: str) -> None:
        entry = self._entry(name, value)
        key = entry[0]
        items = self._items
        for i, item in enumerate(items):
            if item[0] == key:
                items.insert(i, entry)
                break
        else:
            items.insert(0, entry)
        self._version += 1

    def remove(self, name: str) -> None:
        key = _key(name)
        self._items = [it for it in self._items if it[0] != key]
        self._version += 1

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = _key(name)
        return any(k == key for k, _, _ in self._items)

    def items(self) -> list[tuple[str, str]]:
        return [(name, value) for _, name, value in self._items]

    def copy(self) -> Headers:
        return Headers._trusted(list(self._items))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items())

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(k, v) for k, _, v in self._items] == [(k, v) for k, _, v in other._items]

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"


# --- reason phrases --------------------------------------------------------------------

REASON_PHRASES: dict[int, str] = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 199: "Early Dialog Terminated",
    200: "OK", 202: "Accepted", 204: "No Notification",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
    305: "Use Proxy", 380: "Alternative Service",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
    412: "Conditional Request Failed", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 417: "Unknown Resource-Priority", 420: "Bad Extension",
    421: "Extension Required", 422: "Session Interval Too Small", 423: "Interval Too Brief",
    428: "Use Identity Header", 429: "Provide Referrer Identity", 433: "Anonymity Disallowed",
    436: "Bad Identity Info", 437: "Unsupported Credential", 438: "Invalid Identity Header",
    439: "First Hop Lacks Outbound Support", 470: "Consent Needed",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
    489: "Bad Event", 491: "Request Pending", 493: "Undecipherable",
    494: "Security Agreement Required",
    500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
    513: "Message Too Large", 555: "Push Notification Service Not Supported",
    580: "Precondition Failure",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
    606: "Not Acceptable", 607: "Unwanted", 608: "Rejected",
}  # fmt: skip

_CLASS_PHRASES = {
    1: "Provisional", 2: "Success", 3: "Redirection",
    4: "Client Error", 5: "Server Error", 6: "Global Failure",
}  # fmt: skip


def reason_phrase(status: int) -> str:
    """The usual phrase for ``status`` (a class default for unlisted codes)."""
    return REASON_PHRASES.get(status) or _CLASS_PHRASES.get(status // 100, "Unknown")


# Requests whose 1xx/2xx responses can create a dialog (RFC 3261 12.1.1, RFC 6665).
_DIALOG_FORMING = frozenset({"INVITE", "SUBSCRIBE", "REFER", "NOTIFY"})


# --- messages --------------------------------------------------------------------------


def _field_cache() -> Any:
    return field(default=None, init=False, repr=False, compare=False)


class _Message:
    """What requests and responses share: header views and serialisation.

    The views (``top_via``, ``from_addr``, ...) are parsed from the header text
    and cached; they are read-only: to change a message, change its headers
    (which drops the cache).  Accessors raise SipParseError for a missing or
    malformed header.
    """

    __slots__ = ()
    headers: Headers
    body: bytes
    _cache: dict[str, Any] | None
    _cache_for: Headers | None
    _cache_version: int | None

    def _cached(self, name: str, build: Callable[[Headers], Any]) -> Any:
        headers = self.headers
        cache = self._cache
        if (
            cache is None
            or self._cache_for is not headers
            or (self._cache_version != headers._version)
        ):
            cache = self._cache = {}
            self._cache_for = headers
            self._cache_version = headers._version
        try:
            return cache[name]
        except KeyError:
            value = cache[name] = build(headers)
            return value

    def invalidate(self) -> None:
        """Forget the parsed views (not needed after Headers methods; they do it)."""
        self._cache = None

    @property
    def call_id(self) -> str:
        return self._cached("call_id", _build_call_id)

    @property
    def cseq(self) -> tuple[int, str]:
        return self._cached("cseq", _build_cseq)

    @property
    def from_addr(self) -> Address:
        return self._cached("from", _build_from)

    @property
    def to_addr(self) -> Address:
        return self._cached("to", _build_to)

    @property
    def vias(self) -> list[Via]:
        return self._cached("vias", _build_vias)

    @property
    def top_via(self) -> Via:
        return self._cached("top_via", _build_top_via)

    @property
    def contacts(self) -> list[Address]:
        """Contact addresses; empty for ``Contact: *`` (see ``is_star``) or none."""
        return self._cached("contacts", _build_contacts)

    @property
    def is_star(self) -> bool:
        """True for ``Contact: *`` (REGISTER removing every binding)."""
        return self.headers.get_all("Contact") == ["*"]

    @property
    def routes(self) -> list[Address]:
        return self._cached("routes", lambda h: _build_addresses(h, "Route"))

    @property
    def record_routes(self) -> list[Address]:
        return self._cached("record_routes", lambda h: _build_addresses(h, "Record-Route"))

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        if value is None:
            return None
        number = _digits(value)
        if number is None:
            raise error(f"bad Max-Forwards {value[:20]!r}")
        return number

    def _start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        body = self.body
        lines = [self._start_line()]
        length_done = False
        for key, name, value in self.headers._items:
            if key == "content-length":
                if not length_done:
                    lines.append(f"Content-Length: {len(body)}")
                    length_done = True
            else:
                lines.append(f"{name}: {value}")
        if not length_done:
            lines.append(f"Content-Length: {len(body)}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode() + body


def _require(headers: Headers, name: str) -> str:
    value = headers.get(name)
    if value is None:
        raise error(f"missing {name}")
    return value


def _build_call_id(headers: Headers) -> str:
    return _parse_call_id(_require(headers, "Call-ID"))


def _parse_call_id(value: str) -> str:
    if not _CALL_ID_RE.fullmatch(value):
        raise error(f"bad Call-ID {value[:40]!r}")
    return value


def _build_cseq(headers: Headers) -> tuple[int, str]:
    return _parse_cseq(_require(headers, "CSeq"))


def _parse_cseq(value: str) -> tuple[int, str]:
    number, _, method = value.partition(" ")
    method = method.strip(" \t")
    seq = _digits(number)
    if seq is None or seq >= 2**31 or not _TOKEN_RE.fullmatch(method):
        raise error(f"bad CSeq {value[:40]!r}")
    return seq, method


def _build_from(headers: Headers) -> Address:
    return Address.parse(_require(headers, "From"))


def _build_to(headers: Headers) -> Address:
    return Address.parse(_require(headers, "To"))


def _build_vias(headers: Headers) -> list[Via]:
    vias = [Via.parse(v) for v in headers.get_all("Via")]
    if not vias:
        raise error("missing Via")
    return vias


def _build_top_via(headers: Headers) -> Via:
    return Via.parse(_require(headers, "Via"))


def _build_contacts(headers: Headers) -> list[Address]:
    values = headers.get_all("Contact")
    if values == ["*"]:
        return []
    if "*" in values:
        raise error("Contact: * mixed with addresses")
    return [Address.parse(v) for v in values]


def _build_addresses(headers: Headers, name: str) -> list[Address]:
    return [Address.parse(v) for v in headers.get_all(name)]


@dataclass(slots=True)
class Request(_Message):
    method: str
    uri: SipUri
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    _cache: dict[str, Any] | None = _field_cache()
    _cache_for: Headers | None = _field_cache()
    _cache_version: int | None = _field_cache()

    def __post_init__(self) -> None:
        if isinstance(self.uri, str):
            self.uri = SipUri.parse(self.uri)

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} SIP/2.0"

    def make_response(
        self, status: int, reason: str | None = None, to_tag: str | None = None
    ) -> Response:
        """A response to this request per RFC 3261 8.2.6.

        Copies every Via, From, To, Call-ID and CSeq; Record-Route for 1xx/2xx
        (except 100) of dialog-forming requests; Timestamp into a 100.  ``to_tag``
        is added to To only when To has no tag yet.  Works on the raw header
        text, so it also answers requests whose From/To did not parse.
        """
        if not 100 <= status <= 699:
            raise ValueError(f"status out of range: {status}")
        src = self.headers._items
        items: list[tuple[str, str, str]] = [it for it in src if it[0] == "via"]
        if self.method in _DIALOG_FORMING and 100 < status < 300:
            items.extend(it for it in src if it[0] == "record-route")
        for key in ("from", "to", "call-id", "cseq"):
            for it in src:
                if it[0] == key:
                    if key == "to" and to_tag and not _has_tag(it[2]):
                        it = (key, it[1], f"{it[2]};tag={to_tag}")
                    items.append(it)
                    break
        if status == 100:
            items.extend(it for it in src if it[0] == "timestamp")
        return Response(status, reason or reason_phrase(status), Headers._trusted(items))


_TAG_RE = re.compile(r";[ \t]*tag[ \t]*=", re.IGNORECASE)


def _has_tag(to_value: str) -> bool:
    try:
        return Address.parse(to_value).tag is not None
    except SipParseError:
        return _TAG_RE.search(to_value) is not None


@dataclass(slots=True)
class Response(_Message):
    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    _cache: dict[str, Any] | None = _field_cache()
    _cache_for: Headers | None = _field_cache()
    _cache_version: int | None = _field_cache()

    def _start_line(self) -> str:
        return f"SIP/2.0 {self.status} {self.reason}"


# --- parsing ----------------------------------------------------------------------------


def _fail(reason: str, status: int = 400, request: Request | None = None) -> SipParseError:
    exc = error(reason, status)
    exc.request = request  # type: ignore[attr-defined]
    return exc


def parse_message(data: bytes) -> Request | Response:
    """Parse one message (a UDP datagram or what StreamFramer cut out).

    Raises SipParseError.  When the message is a request whose start line,
    top Via, From, To, Call-ID and CSeq are present (the Via readable) but
    something else is wrong, the error's ``.request`` holds the request so a
    response with ``e.status`` can be sent; otherwise ``.request`` is None.
    """
    data = bytes(data)
    start = 0
    n = len(data)
    while start < n and data[start] in b"\r\n":  # RFC 3261 7.5: CRLFs before start line
        start += 1
    blank = _BLANK_LINE_RE.search(data, start)
    if blank is None:
        raise _fail("no blank line after the headers")
    end = blank.start()
    if data[end - 1 : end] == b"\r":
        end -= 1
    head_bytes = data[start:end]
    body = data[blank.end() :]
    problem: tuple[str, int] | None = None
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
            raise _fail("bare CR in header section")
        lines = head.split("\n")
    if "\n " in head or "\n\t" in head:
        # RFC 3261 7.3.1: a line starting with whitespace continues the previous one
        head = _FOLD_RE.sub(" ", head.replace("\r\n", "\n"))
        lines = head.split("\n")
    start_line = lines[0]

    # --- start line
    request: Request | None = None
    response: Response | None = None
    method = ""
    if start_line.startswith("SIP/"):
        parts = start_line.split(" ", 2)
        status = _digits(parts[1], 3) if len(parts) > 1 else None
        if parts[0].upper() != "SIP/2.0" or status is None or not 100 <= status <= 699:
            raise _fail(f"bad status line {start_line[:60]!r}")
        response = Response(status, parts[2] if len(parts) > 2 else "", Headers())
    else:
        parts = start_line.split()
        if len(parts) != 3 or not _TOKEN_RE.fullmatch(parts[0]):
            raise _fail(f"bad request line {start_line[:60]!r}")
        method, uri_text, version = parts
        uri = SipUri.parse(uri_text)
        request = Request(method, uri, Headers())
        if version.upper() != "SIP/2.0":
            if _VERSION_RE.fullmatch(version):
                problem = problem or (f"SIP version {version[:20]} not supported", 505)
            else:
                problem = problem or (f"bad SIP version {version[:20]!r}", 400)
        elif uri.scheme not in ("sip", "sips", "tel"):
            problem = problem or (f"unsupported URI scheme {uri.scheme!r}", 416)

    # --- headers
    items: list[tuple[str, str, str]] = []
    first: dict[str, str] = {}  # key -> value of its first header line
    keyed = _KEYED
    for line in lines[1:]:
        colon = line.find(":")
        if colon <= 0:
            problem = problem or (f"bad header line {line[:40]!r}", 400)
            continue
        name = line[:colon]
        if name[-1] in " \t":
            name = name.rstrip(" \t")
        low = name.lower()
        known = keyed.get(low)
        if known is None:
            if not _TOKEN_RE.fullmatch(name):
                problem = problem or (f"bad header name {name[:40]!r}", 400)
                continue
            known = (low, name)
        key = known[0]
        value = line[colon + 1 :].strip(" \t")
        items.append((key, known[1], value))
        if key not in first:
            first[key] = value
    headers = Headers._trusted(items)
    message: Request | Response = request if request is not None else response  # type: ignore[assignment]
    message.headers = headers

    missing = [n for n, k in _ESSENTIAL if k not in first]
    if missing:
        raise _fail(f"missing {', '.join(missing)}")
    via_text = first["via"]
    if "," in via_text:
        via_text = (split_list(via_text) or [""])[0]
    try:
        top_via = Via.parse(via_text)  # without it no response can be routed
    except SipParseError as exc:
        raise _fail(exc.reason) from None
    cache: dict[str, Any] = {"top_via": top_via}
    message._cache = cache
    message._cache_for = headers
    message._cache_version = headers._version
    if len(first) < len(items):
        for key in _SINGLE:
            if key in first and sum(1 for it in items if it[0] == key) > 1:
                problem = problem or (f"more than one {_NAMES[key]} header", 400)
    for view, key, parse in _ESSENTIAL_VIEWS:
        try:
            cache[view] = parse(first[key])
        except SipParseError as exc:
            problem = problem or (exc.reason, 400)
    if request is not None and problem is None and cache["cseq"][1] != method:
        problem = (f"CSeq method {cache['cseq'][1]!r} does not match {method!r}", 400)
    max_forwards = first.get("max-forwards")
    if max_forwards is not None and _digits(max_forwards) is None:
        problem = problem or (f"bad Max-Forwards {max_forwards[:20]!r}", 400)
    length_text = first.get("content-length")
    if length_text is not None:
        length = _digits(length_text)
        if length is None:
            problem = problem or (f"bad Content-Length {length_text[:20]!r}", 400)
        elif length > len(body):
            problem = problem or ("Content-Length larger than the body", 400)
        elif length < len(body):
            body = body[:length]  # RFC 3261 18.3: extra bytes are discarded
    message.body = body
    if problem is not None:
        raise _fail(problem[0], problem[1], request)
    return message


_ESSENTIAL = (
    ("Via", "via"),
    ("From", "from"),
    ("To", "to"),
    ("Call-ID", "call-id"),
    ("CSeq", "cseq"),
)
_ESSENTIAL_VIEWS: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("call_id", "call-id", _parse_call_id),
    ("cseq", "cseq", _parse_cseq),
    ("from", "from", Address.parse),
    ("to", "to", Address.parse),
)


# --- stream framing ----------------------------------------------------------------------

_CONTENT_LENGTH_RE = re.compile(rb"\n(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)


class StreamFramer:
    """Cut a TCP byte stream into messages by Content-Length (RFC 3261 18.3).

    CRLFs between messages (keep-alives, RFC 5626 4.4.1) are skipped.  A
    missing or bad Content-Length, or a message larger than ``max_size``,
    raises SipParseError; the stream cannot be resynchronised after that, so
    every later ``feed`` raises too.
    """

    __slots__ = ("_buf", "_scanned", "_broken", "max_size")

    def __init__(self, max_size: int = 65536) -> None:
        self.max_size = max_size
        self._buf = bytearray()
        self._scanned = 0
        self._broken: str | None = None

    def feed(self, data: bytes) -> list[bytes]:
        if self._broken is not None:
            raise _fail(self._broken)
        self._buf += data
        out: list[bytes] = []
        try:
            while self._next(out):
                pass
        except SipParseError as exc:
            self._broken = exc.reason
            self._buf.clear()
            raise
        return out

    def _next(self, out: list[bytes]) -> bool:
        buf = self._buf
        skip = 0
        while skip < len(buf) and buf[skip] in b"\r\n":
            skip += 1
        if skip:
            del buf[:skip]
            self._scanned = 0
        if not buf:
            return False
        blank = _BLANK_LINE_RE.search(buf, max(0, self._scanned - 3))
        if blank is None:
            self._scanned = len(buf)
            if len(buf) > self.max_size:
                raise _fail("message header too large", 513)
            return False
        lengths = set(_CONTENT_LENGTH_RE.findall(buf, 0, blank.start() + 1))
        if not lengths:
            raise _fail("missing Content-Length on a stream transport")
        if len(lengths) > 1:
            raise _fail("conflicting Content-Length headers")
        text = lengths.pop().strip(b" \t")
        length = _digits(text.decode("latin-1"))
        if length is None:
            raise _fail(f"bad Content-Length {text[:20]!r}")
        total = blank.end() + length
        if total > self.max_size:
            raise _fail("message too large", 513)
        if len(buf) < total:
            self._scanned = blank.start()
            return False
        out.append(bytes(buf[:total]))
        del buf[:total]
        self._scanned = 0
        return True


# --- identifiers --------------------------------------------------------------------------


def new_branch() -> str:
    """A Via branch with the RFC 3261 magic cookie."""
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id() -> str:
    return secrets.token_hex(16)
