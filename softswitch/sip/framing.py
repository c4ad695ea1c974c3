"""Message boundaries on a stream transport (RFC 3261 18.3): the TCP framer."""

from __future__ import annotations

import re

from .errors import SipParseError
from .grammar import BLANK_LINE_RE, digits

__all__ = ["StreamFramer"]

_CONTENT_LENGTH_RE = re.compile(rb"\n(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)


class StreamFramer:
    """Cut a TCP byte stream into messages by Content-Length.

    CRLFs between messages are skipped, never handed on as an empty message, and
    counted as keepalives (RFC 5626 3.5.1): ``pings`` counts the double CRLFs the
    owner must answer, each with one CRLF, then reset to 0; ``pongs`` counts the lone
    CRLFs (an answer to our ping, or the stray CRLF RFC 3261 7.5 allows before a
    message). CRLFs are paired within one read only, as libre does: a peer's
    successive pongs, one per ping, must not add up to a ping, while a ping is 4 bytes
    written at once (a ping cut between reads counts as two pongs: they too prove the
    peer alive). Bare LFs count as CRLFs. A missing or bad Content-Length,
    or a message larger than ``max_size``, raises SipParseError; the stream cannot be
    resynchronised after that, so every later ``feed`` raises too.
    """

    __slots__ = ("_buf", "_scanned", "_broken", "max_size", "pings", "pongs")

    def __init__(self, max_size: int = 65536) -> None:
        self.max_size = max_size
        self._buf = bytearray()
        self._scanned = 0
        self._broken: str | None = None
        self.pings = 0
        self.pongs = 0

    @property
    def buffered(self) -> int:
        """Bytes held of a message not yet complete (0: between messages)."""
        return len(self._buf)

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
            # every CRLF of this read's gap at once: the rest of the buffer is a message
            line_ends = buf.count(b"\n", 0, skip)
            del buf[:skip]
            self._scanned = 0
            self.pings += line_ends >> 1
            self.pongs += line_ends & 1
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
