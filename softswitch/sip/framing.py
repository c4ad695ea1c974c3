"""Message boundaries on a stream transport (RFC 3261 18.3): the TCP framer."""

from __future__ import annotations

import re

from .errors import SipParseError
from .grammar import BLANK_LINE_RE, digits

__all__ = ["StreamFramer"]

_CONTENT_LENGTH_RE = re.compile(rb"\n(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)


class StreamFramer:
    """Cut a TCP byte stream into messages by Content-Length.

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
        """The whole messages ``data`` completes, in order (often none, sometimes several)."""
        if self._broken is not None:
            raise SipParseError(self._broken)
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
        blank = BLANK_LINE_RE.search(buf, max(0, self._scanned - 3))
        if blank is None:
            self._scanned = len(buf)
            if len(buf) > self.max_size:
                raise SipParseError("message header too large", 513)
            return False
        lengths = set(_CONTENT_LENGTH_RE.findall(buf, 0, blank.start() + 1))
        if not lengths:
            raise SipParseError("missing Content-Length on a stream transport")
        if len(lengths) > 1:
            raise SipParseError("conflicting Content-Length headers")
        text = lengths.pop().strip(b" \t")
        length = digits(text.decode("latin-1"))
        if length is None:
            raise SipParseError(f"bad Content-Length {text[:20]!r}")
        total = blank.end() + length
        if total > self.max_size:
            raise SipParseError("message too large", 513)
        if len(buf) < total:
            self._scanned = blank.start()
            return False
        out.append(bytes(buf[:total]))
        del buf[:total]
        self._scanned = 0
        return True
