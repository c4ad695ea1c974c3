"""SIP requests and responses: header views, building and serialising
(RFC 3261 sections 7, 8.2.6, 20).

A message keeps its headers as text (``Headers``); structured views (Via,
From, To, CSeq, Contact, ...) are parsed on first access and cached with the
headers until they change.  Reading bytes into a message is ``parser``'s job.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from .address import Address
from .errors import SipParseError
from .grammar import TOKEN_RE, digits
from .headers import HeaderEntry, Headers
from .uri import SipUri
from .via import Via

__all__ = [
    "REASON_PHRASES",
    "Request",
    "Response",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse_call_id",
    "parse_cseq",
    "reason_phrase",
]

_CALL_ID_RE = re.compile(r"[^\s\x00-\x1f\x7f]+")


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


class _Message:
    """What requests and responses share: header views and serialisation.

    The views (``top_via``, ``from_addr``, ...) are read-only: to change a
    message, change its headers (which drops the views).  Accessors raise
    SipParseError for a missing or malformed header.
    """

    __slots__ = ()
    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self.headers.view("call_id", _build_call_id)

    @property
    def cseq(self) -> tuple[int, str]:
        return self.headers.view("cseq", _build_cseq)

    @property
    def from_addr(self) -> Address:
        return self.headers.view("from", _build_from)

    @property
    def to_addr(self) -> Address:
        return self.headers.view("to", _build_to)

    @property
    def vias(self) -> list[Via]:
        return self.headers.view("vias", _build_vias)

    @property
    def top_via(self) -> Via:
        return self.headers.view("top_via", _build_top_via)

    @property
    def contacts(self) -> list[Address]:
        """Contact addresses; empty for ``Contact: *`` (see ``is_star``) or none."""
        return self.headers.view("contacts", _build_contacts)

    @property
    def is_star(self) -> bool:
        """True for ``Contact: *`` (REGISTER removing every binding)."""
        return self.headers.get_all("Contact") == ["*"]

    @property
    def routes(self) -> list[Address]:
        return self.headers.view("routes", _build_routes)

    @property
    def record_routes(self) -> list[Address]:
        return self.headers.view("record_routes", _build_record_routes)

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        if value is None:
            return None
        number = digits(value)
        if number is None:
            raise SipParseError(f"bad Max-Forwards {value[:20]!r}")
        return number

    def _start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        body = self.body
        lines = [self._start_line()]
        length_done = False
        for key, name, value in self.headers.entries():
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
        raise SipParseError(f"missing {name}")
    return value


def _build_call_id(headers: Headers) -> str:
    return parse_call_id(_require(headers, "Call-ID"))


def parse_call_id(value: str) -> str:
    if not _CALL_ID_RE.fullmatch(value):
        raise SipParseError(f"bad Call-ID {value[:40]!r}")
    return value


def _build_cseq(headers: Headers) -> tuple[int, str]:
    return parse_cseq(_require(headers, "CSeq"))


def parse_cseq(value: str) -> tuple[int, str]:
    number, _, method = value.partition(" ")
    method = method.strip(" \t")
    seq = digits(number)
    if seq is None or seq >= 2**31 or not TOKEN_RE.fullmatch(method):
        raise SipParseError(f"bad CSeq {value[:40]!r}")
    return seq, method


def _build_from(headers: Headers) -> Address:
    return Address.parse(_require(headers, "From"))


def _build_to(headers: Headers) -> Address:
    return Address.parse(_require(headers, "To"))


def _build_vias(headers: Headers) -> list[Via]:
    vias = [Via.parse(v) for v in headers.get_all("Via")]
    if not vias:
        raise SipParseError("missing Via")
    return vias


def _build_top_via(headers: Headers) -> Via:
    return Via.parse(_require(headers, "Via"))


def _build_contacts(headers: Headers) -> list[Address]:
    values = headers.get_all("Contact")
    if values == ["*"]:
        return []
    if "*" in values:
        raise SipParseError("Contact: * mixed with addresses")
    return [Address.parse(v) for v in values]


def _build_routes(headers: Headers) -> list[Address]:
    return [Address.parse(v) for v in headers.get_all("Route")]


def _build_record_routes(headers: Headers) -> list[Address]:
    return [Address.parse(v) for v in headers.get_all("Record-Route")]


@dataclass(slots=True)
class Request(_Message):
    method: str
    uri: SipUri
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

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
        src = self.headers.entries()
        items: list[HeaderEntry] = [it for it in src if it[0] == "via"]
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
        # the copied headers' views, already parsed for the request, serve the response
        # too (the transport reads its top Via to route it): no second parse
        views = self.headers.cached_views(_RESPONSE_VIEWS)
        if to_tag and "to" in views:
            del views["to"]  # maybe tagged above: parsed again if asked
        return Response(
            status, reason or reason_phrase(status), Headers.from_entries(items, views or None)
        )


# Views of headers a response copies unchanged from its request (make_response).
_RESPONSE_VIEWS = ("top_via", "vias", "from", "to", "call_id", "cseq")
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

    def _start_line(self) -> str:
        return f"SIP/2.0 {self.status} {self.reason}"


# --- identifiers --------------------------------------------------------------------------


def new_branch() -> str:
    """A Via branch with the RFC 3261 magic cookie."""
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id() -> str:
    return secrets.token_hex(16)
