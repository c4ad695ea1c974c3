"""Errors raised by the SIP library."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .message import Request


class SipError(Exception):
    """Base class of every error of the SIP layer."""


class SipParseError(SipError):
    """A message, header or URI that does not follow RFC 3261's grammar.

    ``status`` is the response code a server should answer with when it can
    form a response at all (400 unless a more specific code applies).
    ``request`` is the request that was read far enough to be answered (start
    line, top Via, From, To, Call-ID and CSeq), None when nothing can be.
    """

    def __init__(self, reason: str, status: int = 400, request: Request | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.request = request
