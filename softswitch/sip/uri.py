"""SIP, SIPS and tel URIs (RFC 3261 19.1, 25.1; RFC 3966).

Normalisations, so that plain string comparison matches RFC 3261 19.1.4:
- schemes and parameter names are case-folded to lower case;
- the user and password parts of sip/sips URIs are stored with ``%XX`` escapes
  decoded, except for reserved characters and ``%`` itself, whose escapes are kept
  (``%2B`` is not the same user as ``+``); ``str()`` escapes again what needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import SipParseError
from .grammar import HOSTNAME, escape, format_params, normalise_escapes, split_hostport

__all__ = ["SipUri"]

# user = 1*( unreserved / escaped / user-unreserved )
_USER_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+")
_PASSWORD_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*")
_PARAMCHARS_RE = re.compile(r"(?:[\[\]/:&+$A-Za-z0-9\-_.!~*'()]|%[0-9A-Fa-f]{2})+")
_HNVCHARS_RE = re.compile(r"(?:[\[\]/?:+$A-Za-z0-9\-_.!~*'()]|%[0-9A-Fa-f]{2})*")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
# RFC 3966 3: global-number-digits and local-number-digits (phonedigit-hex)
_TEL_GLOBAL_RE = re.compile(r"\+[0-9\-.()]*[0-9][0-9\-.()]*")
_TEL_LOCAL_RE = re.compile(r"[0-9A-Fa-f*#\-.()]*[0-9A-Fa-f*#][0-9A-Fa-f*#\-.()]*")
_VISUAL_SEPARATORS = str.maketrans("", "", "-.()")
_OPAQUE_RE = re.compile(r"[^\s<>\"\x00-\x1f\x7f]+")
# The common shape of a sip: URI after the scheme, without escapes or IPv6:
# user@host:port;params (the slow path handles everything else).
_SIP_FAST_RE = re.compile(
    r"(?:([A-Za-z0-9\-_.!~*'()&=+$,;?/]+)@)?(" + HOSTNAME + r")(?::([0-9]{1,5}))?"
    r"((?:;[A-Za-z0-9\-_.!~*'()\[\]/:&+$]+(?:=[A-Za-z0-9\-_.!~*'()\[\]/:&+$]+)?)*)"
)

_USER_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()&=+$,;?/"
)
_PASSWORD_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()&=+$,"
)


def _parse_uri_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for piece in text.split(";"):
        name, eq, value = piece.partition("=")
        if not _PARAMCHARS_RE.fullmatch(name):
            raise SipParseError(f"bad URI parameter {piece[:20]!r}")
        name = name.lower()
        if name in params:
            raise SipParseError(f"duplicate URI parameter {name!r}")
        if eq:
            if not _PARAMCHARS_RE.fullmatch(value):
                raise SipParseError(f"bad value of URI parameter {name!r}")
            params[name] = value
        else:
            params[name] = None
    return params


@dataclass(slots=True)
class SipUri:
    """A sip:, sips: or tel: URI.

    For tel: the number is in ``user``, without visual separators
    (``tel:+1-201-555-0123`` has user ``+12015550123``), and ``host`` is ''.  Other absolute URIs
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
            raise SipParseError(f"not a URI: {text[:50]!r}")
        scheme = text[:colon].lower()
        rest = text[colon + 1 :]
        if scheme == "sip" or scheme == "sips":
            return cls._parse_sip(scheme, rest)
        if scheme == "tel":
            return cls._parse_tel(rest)
        if not _SCHEME_RE.fullmatch(scheme) or not _OPAQUE_RE.fullmatch(rest):
            raise SipParseError(f"not a URI: {text[:50]!r}")
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
                    raise SipParseError(f"port out of range {port}")
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
                raise SipParseError(f"bad user part {userinfo[:50]!r}")
            user = normalise_escapes(user)
            if colon:
                if not _PASSWORD_RE.fullmatch(pw):
                    raise SipParseError("bad password part")
                password = normalise_escapes(pw)
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
                    raise SipParseError(f"bad URI header {pair[:30]!r}")
                headers[name] = value
            rest = rest[:q]
        params: dict[str, str | None] = {}
        semi = rest.find(";")
        if semi >= 0:
            params = _parse_uri_params(rest[semi + 1 :])
            rest = rest[:semi]
        host, port = split_hostport(rest)
        return cls(scheme, user, host, port, params, headers, password)

    @classmethod
    def _parse_tel(cls, rest: str) -> SipUri:
        """RFC 3966: the number without its visual separators (section 5.1.1 says
        they carry no meaning), so that it routes and compares like a sip: user."""
        number, semi, params_text = rest.partition(";")
        if not (_TEL_GLOBAL_RE.fullmatch(number) or _TEL_LOCAL_RE.fullmatch(number)):
            raise SipParseError(f"bad tel number {number[:30]!r}")
        params = _parse_uri_params(params_text) if semi else {}
        context = params.get("phone-context")
        if context is not None and context.startswith("+"):
            params["phone-context"] = context.translate(_VISUAL_SEPARATORS)
        return cls("tel", number.translate(_VISUAL_SEPARATORS), "", None, params)

    def __str__(self) -> str:
        scheme = self.scheme
        if scheme == "tel":
            return f"tel:{self.user or ''}{format_params(self.params)}"
        if scheme != "sip" and scheme != "sips":
            return f"{scheme}:{self.user or ''}"
        parts = [scheme, ":"]
        if self.user is not None:
            parts.append(escape(self.user, _USER_SAFE))
            if self.password is not None:
                parts.append(":")
                parts.append(escape(self.password, _PASSWORD_SAFE))
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
    def number(self) -> str | None:
        """What to route by: for tel: and for sip:/sips: with ``user=phone`` (RFC 3261
        19.1.6) the telephone number, without the telephone-subscriber's parameters
        (``;npdi``, ``;rn=``, ``;phone-context=``) and visual separators; else the user."""
        user = self.user
        if user is None or self.params.get("user") != "phone" or self.scheme == "tel":
            return user
        return user.partition(";")[0].translate(_VISUAL_SEPARATORS)

    @property
    def host_port(self) -> tuple[str, int | None]:
        return self.host, self.port
