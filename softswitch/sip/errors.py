"""Errors raised by the SIP library."""


class SipError(Exception):
    """Base class of every error of the SIP layer."""


class SipParseError(SipError):
    """A message, header or URI that does not follow RFC 3261's grammar.

    ``status`` is the response code a server should answer with when it can
    form a response at all (400 unless a more specific code applies).
    """

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
