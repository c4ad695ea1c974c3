"""The Via header value (RFC 3261 20.42, 25.1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import SipParseError
from .grammar import HOSTNAME, TOKEN, format_params, parse_host, parse_params, parse_port

__all__ = ["Via"]

_VIA_RE = re.compile(
    r"[ \t]*SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*(" + TOKEN + r")[ \t]+"
    r"(\[[0-9A-Fa-f:.]+\]|" + HOSTNAME + r")"
    r"(?:[ \t]*:[ \t]*([0-9]+))?"
    r"[ \t]*(;.*)?",
    re.IGNORECASE | re.DOTALL,
)

# The start of any Via, whatever follows the sent-by: enough to route a 400 back.
_SENT_BY_RE = re.compile(
    r"[ \t]*SIP[ \t]*/[ \t]*[0-9]+\.[0-9]+[ \t]*/[ \t]*(" + TOKEN + r")[ \t]+"
    r"(\[[0-9A-Fa-f:.]+\]|" + HOSTNAME + r")(?:[ \t]*:[ \t]*([0-9]{1,5}))?",
    re.IGNORECASE,
)


@dataclass(slots=True)
class Via:
    """One Via value; only SIP/2.0 is accepted, the transport is upper-cased."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        m = _VIA_RE.fullmatch(text.rstrip())
        if m is None:
            raise SipParseError(f"bad Via {text[:60]!r}")
        transport, host, port, params = m.groups()
        return cls(
            transport.upper(),
            parse_host(host) if host[0] == "[" else host,
            parse_port(port) if port is not None else None,
            parse_params(params) if params else {},
        )

    @classmethod
    def parse_sent_by(cls, text: str) -> Via:
        """Only the transport and sent-by of a Via that may be bad after them.

        For answering a malformed request (RFC 4475 3.1.2.1 ``;;,;,,``, 3.1.2.16
        ``SIP/7.0/UDP``): the parameters are dropped, any SIP version is accepted.
        """
        m = _SENT_BY_RE.match(text)
        if m is None:
            raise SipParseError(f"bad Via {text[:60]!r}")
        transport, host, port = m.groups()
        return cls(
            transport.upper(),
            parse_host(host) if host[0] == "[" else host,
            parse_port(port) if port is not None else None,
        )

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"SIP/2.0/{self.transport} {self.host}{port}{format_params(self.params)}"

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")
