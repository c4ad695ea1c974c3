"""HTTP Digest authentication for SIP (RFC 3261 22, RFC 7616, RFC 8760).

Client side: parse ``WWW-Authenticate``/``Proxy-Authenticate`` challenges, pick
the strongest one we can answer and build the ``Authorization`` value.

Server side: :class:`DigestServer` issues self-verifying nonces (an HMAC over a
timestamp, random bytes and the realm), so no state is needed to know a nonce
is ours and fresh; the only state is the highest ``nc`` seen per nonce, which
stops replays and is bounded in size.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import SipError, SipParseError
from .grammar import TOKEN_CHARS, quote, read_quoted
from .uri import SipUri

# Canonical spelling of every algorithm we can compute, keyed by lower case.
_ALGORITHMS: dict[str, str] = {
    "md5": "MD5",
    "md5-sess": "MD5-sess",
    "sha-256": "SHA-256",
    "sha-256-sess": "SHA-256-sess",
}
_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}
# Lower rank wins when a server offers several challenges (RFC 8760 3: the
# client uses the strongest algorithm it supports).
_PREFERENCE: dict[str, int] = {"SHA-256": 0, "SHA-256-sess": 1, "MD5": 2, "MD5-sess": 3}

_NC_RE = re.compile(r"[0-9a-fA-F]{8}")
_HEX_RE = re.compile(r"[0-9a-fA-F]+")
_WS = " \t\r\n"

# Nonce layout: 8-byte timestamp (ms), 12 random bytes, 16-byte truncated
# HMAC-SHA256; 36 bytes encode to 48 base64 characters without padding.
_TS = struct.Struct(">Q")
_RANDOM_LEN = 12
_MAC_LEN = 16
_NONCE_LEN = _TS.size + _RANDOM_LEN + _MAC_LEN
# Marks a nonce consumed by an RFC 2069 (qop-less) request: higher than any nc.
_USED_WITHOUT_QOP = 1 << 32
# How far ahead of our clock a nonce's stamp may be (clock adjustments) and still count.
_CLOCK_SLACK_MS = 5_000
# Hashed in place of a stored HA1 for an unknown user, so that an unknown user costs
# the same work as a wrong password (no timing difference to enumerate users by).
_DUMMY_HA1 = "0" * 64
# URI parameters that make two SIP URIs differ when present in only one (RFC 3261 19.1.4).
_SIGNIFICANT_URI_PARAMS = ("user", "ttl", "method", "maddr", "transport")


def canonical_algorithm(name: str) -> str | None:
    """The canonical spelling of a supported algorithm name, else None."""
    return _ALGORITHMS.get(name.strip().lower())


def _base_algorithm(algorithm: str) -> str:
    return algorithm.removesuffix("-sess")


def _utf8(text: str) -> bytes:
    # Header text decoded with surrogateescape turns back into its bytes;
    # any other lone surrogate still hashes instead of raising.
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _hash(algorithm: str, text: str) -> str:
    return _HASHES[_base_algorithm(algorithm)](_utf8(text))


def ha1(username: str, realm: str, password: str, algorithm: str) -> str:
    """H(username:realm:password), the value a credential store keeps.

    The ``-sess`` variants start from the same value (the session key is
    derived per nonce), so they share it with their base algorithm.
    """
    canonical = canonical_algorithm(algorithm)
    if canonical is None:
        raise SipError(f"unsupported digest algorithm {algorithm!r}")
    return _hash(canonical, f"{username}:{realm}:{password}")


def _response(
    algorithm: str,
    ha1_hex: str,
    *,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None,
    nc: str | None,
    cnonce: str | None,
) -> str:
    key = ha1_hex.lower()
    if algorithm.endswith("-sess"):
        key = _hash(algorithm, f"{key}:{nonce}:{cnonce or ''}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop is None:
        # RFC 2069 compatible form, still sent by some SIP stacks (pyVoIP).
        return _hash(algorithm, f"{key}:{nonce}:{ha2}")
    return _hash(algorithm, f"{key}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


# --- header grammar -------------------------------------------------------


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _token(text: str, pos: int) -> tuple[str, int]:
    start = pos
    while pos < len(text) and text[pos] in TOKEN_CHARS:
        pos += 1
    return text[start:pos], pos


def _value(text: str, pos: int) -> tuple[str, int]:
    if pos < len(text) and text[pos] == '"':
        return read_quoted(text, pos)
    # Unquoted values in the wild carry more than token characters ('/', ':',
    # '=' of base64), so take everything up to the next separator.
    start = pos
    while pos < len(text) and text[pos] not in ", \t\r\n":
        pos += 1
    return text[start:pos], pos


def parse_auth_header(text: str) -> list[tuple[str, dict[str, str]]]:
    """Split a WWW-Authenticate/Authorization value into (scheme, params).

    Parameters may come in any order, quoted or not, with or without commas
    between them; a token that is not followed by ``=`` starts the next
    challenge (HTTP allows several in one header value). Parameter names are
    lower-cased; the first occurrence of a repeated parameter wins.
    """
    items: list[tuple[str, dict[str, str]]] = []
    pos = 0
    while True:
        pos = _skip(text, pos, _WS + ",")
        if pos >= len(text):
            return items
        scheme, pos = _token(text, pos)
        if not scheme:
            raise SipParseError(f"bad auth scheme at {text[pos : pos + 20]!r}")
        params: dict[str, str] = {}
        while True:
            pos = _skip(text, pos, _WS + ",")
            if pos >= len(text):
                break
            start = pos
            name, pos = _token(text, pos)
            if not name:
                raise SipParseError(f"bad auth parameter at {text[start : start + 20]!r}")
            pos = _skip(text, pos, _WS)
            if pos >= len(text) or text[pos] != "=":
                pos = start
                break
            pos = _skip(text, pos + 1, _WS)
            value, pos = _value(text, pos)
            params.setdefault(name.lower(), value)
        items.append((scheme, params))


# --- client side ----------------------------------------------------------


@dataclass(slots=True)
class Challenge:
    """One Digest challenge from a 401/407 response."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: list[str] = field(default_factory=list)
    opaque: str | None = None
    stale: bool = False

    @classmethod
    def parse(cls, header_value: str) -> Challenge:
        """Parse the first Digest challenge of a header value (SipParseError)."""
        challenges = _parse_challenges(header_value)
        if not challenges:
            raise SipParseError(f"no Digest challenge in {header_value[:60]!r}")
        return challenges[0]

    @property
    def supported(self) -> bool:
        """Whether :func:`authorization` can answer this challenge."""
        if canonical_algorithm(self.algorithm) is None:
            return False
        if self.qop and "auth" not in self.qop:
            return False  # auth-int only: we do not hash bodies
        # -sess needs a cnonce, which only the qop form carries.
        return not (self.algorithm.endswith("-sess") and not self.qop)


def _challenge_from(params: dict[str, str]) -> Challenge:
    if "realm" not in params or "nonce" not in params:
        raise SipParseError("Digest challenge without realm or nonce")
    algorithm = params.get("algorithm", "MD5")
    qop = [item.strip().lower() for item in params.get("qop", "").split(",") if item.strip()]
    return Challenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=canonical_algorithm(algorithm) or algorithm,
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").strip().lower() == "true",
    )


def _parse_challenges(header_value: str) -> list[Challenge]:
    return [
        _challenge_from(params)
        for scheme, params in parse_auth_header(header_value)
        if scheme.lower() == "digest"
    ]


def choose_challenge(values: list[str]) -> Challenge:
    """The challenge to answer among WWW-/Proxy-Authenticate header values.

    Prefers SHA-256 over MD5 (RFC 8760), skips unparseable challenges, other
    schemes and algorithms we cannot compute; ties go to the first listed.
    Raises SipError when nothing is usable.
    """
    best: Challenge | None = None
    for value in values:
        try:
            candidates = _parse_challenges(value)
        except SipParseError:
            continue
        for challenge in candidates:
            if not challenge.supported:
                continue
            if best is None or _PREFERENCE[challenge.algorithm] < _PREFERENCE[best.algorithm]:
                best = challenge
    if best is None:
        raise SipError("no usable Digest challenge (supported: MD5, SHA-256, qop=auth)")
    return best


def authorization(
    ch: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int,
    cnonce: str | None = None,
) -> str:
    """The Authorization / Proxy-Authorization header value answering ``ch``.

    ``nc`` counts the requests sent with this nonce (start at 1). Without qop
    in the challenge the RFC 2069 form is used (no cnonce, nc or qop).
    """
    if not ch.supported:
        raise SipError(f"cannot answer Digest challenge (algorithm={ch.algorithm}, qop={ch.qop})")
    if not 0 < nc <= 0xFFFFFFFF:
        raise SipError(f"nonce count out of range: {nc}")
    algorithm = canonical_algorithm(ch.algorithm) or ch.algorithm
    secret = ha1(username, ch.realm, password, algorithm)
    parts = [
        f"username={quote(username)}",
        f"realm={quote(ch.realm)}",
        f"nonce={quote(ch.nonce)}",
        f"uri={quote(uri)}",
    ]
    if ch.qop:
        cnonce = cnonce if cnonce is not None else secrets.token_hex(16)
        nc_text = f"{nc:08x}"
        response = _response(
            algorithm,
            secret,
            nonce=ch.nonce,
            method=method,
            uri=uri,
            qop="auth",
            nc=nc_text,
            cnonce=cnonce,
        )
        parts += [
            f"response={quote(response)}",
            f"algorithm={algorithm}",
            f"cnonce={quote(cnonce)}",
            f"nc={nc_text}",
            "qop=auth",
        ]
    else:
        response = _response(
            algorithm,
            secret,
            nonce=ch.nonce,
            method=method,
            uri=uri,
            qop=None,
            nc=None,
            cnonce=None,
        )
        parts += [f"response={quote(response)}", f"algorithm={algorithm}"]
    if ch.opaque is not None:
        parts.append(f"opaque={quote(ch.opaque)}")
    return "Digest " + ", ".join(parts)


# --- server side ----------------------------------------------------------


@dataclass(slots=True)
class AuthResult:
    """Outcome of :meth:`DigestServer.verify`.

    ``stale`` means the credentials were right but the nonce is no longer
    usable: challenge again with ``stale=true`` so the client retries
    silently. ``reason`` is for logs, never for the peer.
    """

    ok: bool
    username: str | None = None
    stale: bool = False
    reason: str = ""
    # The credentials' uri is not the Request-URI (RFC 7616 3.4.6: answer 400): they
    # were computed for another request, e.g. replayed onto a call to another number.
    bad_request: bool = False


def authorization_username(header_value: str) -> str | None:
    """The username of a Digest Authorization value, None when there is none."""
    try:
        items = parse_auth_header(header_value)
    except SipParseError:
        return None
    for scheme, params in items:
        if scheme.lower() == "digest":
            return params.get("username")
    return None


def same_request_uri(text: str, request_uri: SipUri) -> bool:
    """Whether a digest ``uri`` names the Request-URI, compared as URIs (RFC 3261 19.1.4).

    Clients differ in spelling (case of scheme and host, order of parameters), never
    in what they name: user and password compare exactly, host case-insensitively, a
    missing port is not the default port, user/ttl/method/maddr/transport must agree
    when either URI has them, other parameters when both do, headers always.

    One deviation is tolerated because common clients send it: a digest uri without a
    user part that names the Request-URI's host and port (sipp hashes
    ``sip:remote_ip:remote_port`` unless given -auth_uri, pyVoIP 1.6 ``sip:server;
    transport=UDP`` for every request) is accepted whatever its parameters. It commits
    to no destination, so only the nonce count stops its replay; a digest uri that does
    name a user must name the Request-URI's.
    """
    try:
        uri = SipUri.parse(text.strip())
    except SipParseError:
        return False
    if (
        uri.scheme != request_uri.scheme
        or uri.host.lower() != request_uri.host.lower()
        or uri.port != request_uri.port
    ):
        return False
    if uri.user is None and uri.password is None:
        return not uri.headers
    if uri.user != request_uri.user or uri.password != request_uri.password:
        return False
    ours, theirs = uri.params, request_uri.params
    for name in ours.keys() | theirs.keys():
        if name not in _SIGNIFICANT_URI_PARAMS and (name not in ours or name not in theirs):
            continue
        if name not in ours or name not in theirs:
            return False
        a, b = ours[name], theirs[name]
        if (a or "").lower() != (b or "").lower() or (a is None) != (b is None):
            return False
    return {k.lower(): v for k, v in uri.headers.items()} == {
        k.lower(): v for k, v in request_uri.headers.items()
    }


class DigestServer:
    """Issues Digest challenges for one realm and verifies the answers."""

    def __init__(
        self,
        realm: str,
        key: bytes,
        nonce_ttl: float = 300.0,
        clock: Callable[[], float] = time.time,
        *,
        algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
        max_nonces: int = 65_536,
    ) -> None:
        # Which challenges to send, most preferred first. Real peers differ:
        # baresip 1.0 (libre 1.x) fails outright when ANY challenge is not MD5,
        # sipp 3.6 answers only the first one and only MD5, pyVoIP hashes MD5
        # whatever it is offered; ("MD5",) is the setting they all accept.
        canonical = [canonical_algorithm(name) for name in algorithms]
        if not canonical or any(name is None or name.endswith("-sess") for name in canonical):
            raise SipError(f"cannot challenge with algorithms {algorithms!r}")
        self.algorithms: tuple[str, ...] = tuple(name for name in canonical if name is not None)
        self.realm = realm
        self._key = key
        self._ttl_ms = int(nonce_ttl * 1000)
        self._clock = clock
        self._max_nonces = max_nonces
        # nonce -> (issued_ms, highest nc seen), in order of first use.
        self._seen: OrderedDict[str, tuple[int, int]] = OrderedDict()
        # Nonces issued at or before this instant whose state may have been
        # evicted for space: they are refused as stale rather than replayable.
        self._evicted_floor_ms = -1

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _mac(self, stamp_and_random: bytes) -> bytes:
        return hmac.digest(self._key, stamp_and_random + _utf8(self.realm), "sha256")[:_MAC_LEN]

    def new_nonce(self) -> str:
        body = _TS.pack(self._now_ms()) + secrets.token_bytes(_RANDOM_LEN)
        return base64.b64encode(body + self._mac(body)).decode("ascii")

    def _nonce_issued_ms(self, nonce: str) -> int | None:
        """Issue time of a nonce we signed, None for anything else."""
        try:
            raw = base64.b64decode(nonce.encode("ascii"), validate=True)
        except (UnicodeEncodeError, ValueError, binascii.Error):
            return None
        if len(raw) != _NONCE_LEN:
            return None
        body, mac = raw[:-_MAC_LEN], raw[-_MAC_LEN:]
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        issued_ms: int = _TS.unpack_from(body)[0]
        return issued_ms

    def challenges(self, stale: bool = False) -> list[str]:
        """WWW-/Proxy-Authenticate values, one per algorithm (default SHA-256 then
        MD5), sharing one nonce: it is valid with any algorithm, since some
        clients take the nonce of the first challenge and hash MD5 anyway."""
        nonce = self.new_nonce()
        suffix = ", stale=true" if stale else ""
        realm = quote(self.realm)
        return [
            f'Digest realm={realm}, nonce="{nonce}", algorithm={algorithm}, qop="auth"{suffix}'
            for algorithm in self.algorithms
        ]

    def verify(
        self,
        method: str,
        header_value: str,
        lookup_ha1: Callable[[str, str], str | None],
        *,
        request_uri: SipUri,
    ) -> AuthResult:
        """Check an Authorization / Proxy-Authorization header value.

        ``lookup_ha1(username, algorithm)`` returns the stored HA1 (hex) for
        ``'MD5'`` or ``'SHA-256'``, or None for an unknown user. The credentials'
        ``uri`` must name ``request_uri`` (else ``bad_request``): a digest proves
        the method and URI it was computed for, nothing else. Never raises
        on malformed input: it yields ``ok=False`` with a reason.
        """
        try:
            items = parse_auth_header(header_value)
        except SipParseError as error:
            return AuthResult(False, None, False, f"malformed header: {error.reason}")
        digest = [params for scheme, params in items if scheme.lower() == "digest"]
        if not digest:
            return AuthResult(False, None, False, "not a Digest authorization")
        params = digest[0]
        missing = [
            name for name in ("username", "realm", "nonce", "uri", "response") if name not in params
        ]
        username = params.get("username")
        if missing:
            return AuthResult(False, username, False, f"missing {', '.join(missing)}")
        assert username is not None
        if not hmac.compare_digest(_utf8(params["realm"]), _utf8(self.realm)):
            return AuthResult(False, username, False, "wrong realm")
        # Checked before the password is: a 400 must not tell a guesser that the
        # digest was right.
        if not same_request_uri(params["uri"], request_uri):
            return AuthResult(
                False, username, False, "uri does not match the Request-URI", bad_request=True
            )
        algorithm = canonical_algorithm(params.get("algorithm", "MD5"))
        if algorithm is None:
            return AuthResult(False, username, False, "unsupported algorithm")
        if params.get("userhash", "false").lower() == "true":
            return AuthResult(False, username, False, "userhash not supported")
        qop = params.get("qop")
        nc_text = params.get("nc")
        cnonce = params.get("cnonce")
        if qop is not None:
            if qop.lower() != "auth":
                return AuthResult(False, username, False, f"unsupported qop {qop!r}")
            qop = qop.lower()
            if nc_text is None or cnonce is None:
                return AuthResult(False, username, False, "qop without nc or cnonce")
            if not _NC_RE.fullmatch(nc_text):
                return AuthResult(False, username, False, "nc is not 8 hex digits")
        elif algorithm.endswith("-sess"):
            return AuthResult(False, username, False, "-sess algorithm without qop")
        response = params["response"]
        if not _HEX_RE.fullmatch(response):
            return AuthResult(False, username, False, "response is not hex")

        nonce = params["nonce"]
        issued_ms = self._nonce_issued_ms(nonce)
        if issued_ms is None:
            return AuthResult(False, username, False, "nonce not issued by us")

        stored = lookup_ha1(username, _base_algorithm(algorithm))
        expected = _response(
            algorithm,
            stored if stored is not None else _DUMMY_HA1,
            nonce=nonce,
            method=method,
            uri=params["uri"],
            qop=qop,
            nc=nc_text,
            cnonce=cnonce,
        )
        if stored is None:
            return AuthResult(False, username, False, "unknown user")
        if not hmac.compare_digest(expected.encode("ascii"), response.lower().encode("ascii")):
            return AuthResult(False, username, False, "wrong response")

        # Only a correct digest earns stale=true (RFC 7616 3.3): the client
        # knows the password, so it may retry with a fresh nonce unprompted.
        now_ms = self._now_ms()
        if now_ms - issued_ms > self._ttl_ms:
            return AuthResult(False, username, True, "nonce expired")
        if issued_ms - now_ms > _CLOCK_SLACK_MS:
            # Issued "in the future": the wall clock went back. Such a nonce would stay
            # valid for the TTL plus the jump; a fresh one costs the client one round trip.
            return AuthResult(False, username, True, "nonce from the future")
        nc = int(nc_text, 16) if qop is not None and nc_text is not None else _USED_WITHOUT_QOP
        return self._record_use(nonce, issued_ms, nc, now_ms, username, qop is not None)

    def _record_use(
        self, nonce: str, issued_ms: int, nc: int, now_ms: int, username: str, with_qop: bool
    ) -> AuthResult:
        seen = self._seen.get(nonce)
        if seen is None:
            if issued_ms <= self._evicted_floor_ms:
                return AuthResult(False, username, True, "nonce state evicted")
            self._seen[nonce] = (issued_ms, nc)
            self._evict(now_ms)
            return AuthResult(True, username, False, "ok")
        if not with_qop:
            # RFC 2069 requests carry no counter: each nonce is good once.
            return AuthResult(False, username, True, "nonce already used without qop")
        if nc <= seen[1]:
            return AuthResult(False, username, False, "replayed nc")
        self._seen[nonce] = (issued_ms, nc)
        return AuthResult(True, username, False, "ok")

    def _evict(self, now_ms: int) -> None:
        if len(self._seen) <= self._max_nonces:
            return
        for nonce, (issued_ms, _) in list(self._seen.items()):
            if now_ms - issued_ms > self._ttl_ms:
                del self._seen[nonce]
        while len(self._seen) > self._max_nonces:
            _, (issued_ms, _) = self._seen.popitem(last=False)
            self._evicted_floor_ms = max(self._evicted_floor_ms, issued_ms)
