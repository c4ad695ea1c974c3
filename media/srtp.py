"""SRTP (RFC 3711) for one call leg, keyed by SDES (RFC 4568), on libsrtp (pylibsrtp).

Each leg has its own keys: we encrypt what we send with our master key and
decrypt what the peer sends with the key it gave us in its SDP. The session
calls `protect`/`unprotect` at the socket boundary only, so everything above
it (jitter buffer, mixer, recorder, DTMF, transcription) sees plain RTP.

A packet that fails authentication or replays an old sequence number is
dropped and counted (`rejected`, `rejected_rtcp`), never handed on as audio.

Per packet this is the hottest code of an SRTP call, so it calls libsrtp
through pylibsrtp's own cffi binding (`pylibsrtp._binding`: the libsrtp and
OpenSSL that pylibsrtp bundles) rather than through its `Session` wrapper,
which allocates an ``int *`` and runs a few Python checks per packet: here each
direction owns a preallocated buffer and length, and a packet costs one copy
in, the libsrtp call and the resulting bytes (issue 10: about 40% less CPU per
protect + unprotect). The binding is pylibsrtp's private API, so pyproject.toml
pins pylibsrtp's versions and `check_binding` (run at import, and by a unit
test) refuses a binding whose libsrtp calls are not the ones written for here.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import pylibsrtp  # importing it runs srtp_init(), once per process
from pylibsrtp._binding import ffi, lib  # type: ignore[import-not-found]  # no stub

__all__ = ["KEY_LENGTH", "SrtpContext", "SrtpError", "SrtpKey", "SrtpSuite", "check_binding"]

KEY_LENGTH = 30  # AES-128 master key (16) + master salt (14)


class SrtpSuite(StrEnum):
    """The SDES crypto suites we offer and accept, in our order of preference."""

    AES_CM_128_HMAC_SHA1_80 = "AES_CM_128_HMAC_SHA1_80"
    AES_CM_128_HMAC_SHA1_32 = "AES_CM_128_HMAC_SHA1_32"


# libsrtp's profiles; SRTCP keeps an 80-bit tag with both (RFC 4568 6.2.2).
_PROFILES = {
    SrtpSuite.AES_CM_128_HMAC_SHA1_80: lib.srtp_profile_aes128_cm_sha1_80,
    SrtpSuite.AES_CM_128_HMAC_SHA1_32: lib.srtp_profile_aes128_cm_sha1_32,
}

# The libsrtp 2 calls we make, as the binding must declare them (cffi's C type names).
_STATUS_CALL = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"
BINDING_SIGNATURES = {
    "srtp_create": "srtp_err_status_t(*)(struct srtp_ctx_t_ * *, struct srtp_policy_t *)",
    "srtp_dealloc": "srtp_err_status_t(*)(struct srtp_ctx_t_ *)",
    "srtp_crypto_policy_set_from_profile_for_rtp": (
        "srtp_err_status_t(*)(struct srtp_crypto_policy_t *, srtp_profile_t)"
    ),
    "srtp_crypto_policy_set_from_profile_for_rtcp": (
        "srtp_err_status_t(*)(struct srtp_crypto_policy_t *, srtp_profile_t)"
    ),
    "srtp_protect": _STATUS_CALL,
    "srtp_unprotect": _STATUS_CALL,
    "srtp_protect_rtcp": _STATUS_CALL,
    "srtp_unprotect_rtcp": _STATUS_CALL,
}
# srtp_policy_t fields we set (the rest stay zero: libsrtp's defaults)
BINDING_POLICY_FIELDS = ("ssrc", "rtp", "rtcp", "key")

# One buffer per direction, as big as pylibsrtp's: an RTP packet on an Ethernet path,
# plus the room libsrtp may append on protect (tag and MKI; SRTCP also its index).
_BUFFER = 1500
_RTP_ROOM = 16 + 128  # SRTP_MAX_TAG_LEN + SRTP_MAX_MKI_LEN
_RTCP_ROOM = 4 + 16 + 128  # + SRTCP index
_MAX_RTP = _BUFFER - _RTP_ROOM
_MAX_RTCP = _BUFFER - _RTCP_ROOM

_protect = lib.srtp_protect
_unprotect = lib.srtp_unprotect
_OK = lib.srtp_err_status_ok


class SrtpError(Exception):
    """libsrtp refused to protect a packet we built, or to set up a context."""


def check_binding() -> None:
    """ImportError unless pylibsrtp's binding declares the libsrtp calls this module makes.

    The binding is pylibsrtp's private API: a release built on another libsrtp
    (libsrtp 3 changed srtp_protect's arguments) must fail here, at start-up,
    rather than corrupt memory or reject every packet.
    """
    problems = []
    for name, expected in BINDING_SIGNATURES.items():
        function = getattr(lib, name, None)
        actual = None if function is None else ffi.getctype(ffi.typeof(function))
        if actual != expected:
            problems.append(f"{name} is {actual!r}, expected {expected!r}")
    fields = {name for name, _ in ffi.typeof("srtp_policy_t").fields}
    problems += [f"srtp_policy_t has no {f!r}" for f in BINDING_POLICY_FIELDS if f not in fields]
    if problems:
        raise ImportError(
            f"pylibsrtp {pylibsrtp.__version__}'s libsrtp binding is not the one media.srtp "
            "was written for (pin pylibsrtp as pyproject.toml does): " + "; ".join(problems)
        )


check_binding()


@dataclass(frozen=True, slots=True)
class SrtpKey:
    """A suite and its 30-byte master key + salt, as carried by an SDP crypto line."""

    suite: SrtpSuite
    material: bytes

    def __post_init__(self) -> None:
        if len(self.material) != KEY_LENGTH:
            raise ValueError(f"SRTP master key+salt must be {KEY_LENGTH} bytes")

    @classmethod
    def generate(cls, suite: SrtpSuite) -> SrtpKey:
        return cls(suite, secrets.token_bytes(KEY_LENGTH))

    @classmethod
    def from_key_params(cls, suite: str, key_params: str) -> SrtpKey:
        """Parse ``inline:<base64>[|lifetime]``; ValueError for anything we cannot use.

        A master key identifier (``|MKI:length``), several keys or a key of the
        wrong length are refused: the caller treats that crypto line as unsupported.
        """
        try:
            known = SrtpSuite(suite)
        except ValueError:
            raise ValueError(f"unsupported SRTP suite {suite!r}") from None
        method, _, rest = key_params.partition(":")
        if method != "inline" or ";" in rest:
            raise ValueError("only one inline SRTP key is supported")
        encoded, *extras = rest.split("|")
        if any(":" in extra for extra in extras) or len(extras) > 1:
            raise ValueError("SRTP master key identifiers are not supported")
        try:
            material = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("SRTP key is not base64") from None
        return cls(known, material)

    @property
    def key_params(self) -> str:
        """``inline:<base64 of key+salt>`` for an SDP crypto line."""
        return "inline:" + base64.b64encode(self.material).decode("ascii")


class _Buffer(Protocol):
    """What we use of a cffi buffer over a ``char[]``: slices in and out as bytes."""

    def __getitem__(self, index: slice, /) -> bytes: ...
    def __setitem__(self, index: slice, value: bytes, /) -> None: ...


def _session(key: SrtpKey, ssrc_type: int) -> Any:
    """A libsrtp session (``srtp_t *``) for one direction; srtp_dealloc when collected."""
    policy = ffi.new("srtp_policy_t *")  # zeroed: libsrtp's defaults for the rest
    profile = _PROFILES[key.suite]
    for set_profile, crypto in (
        (lib.srtp_crypto_policy_set_from_profile_for_rtp, policy.rtp),
        (lib.srtp_crypto_policy_set_from_profile_for_rtcp, policy.rtcp),
    ):
        if set_profile(ffi.addressof(crypto), profile) != _OK:
            raise SrtpError(f"libsrtp has no profile for {key.suite}")
    material = ffi.new("unsigned char[]", key.material)  # libsrtp derives its keys in create
    policy.key = material
    policy.ssrc.type = ssrc_type
    session = ffi.new("srtp_t *")
    status = lib.srtp_create(session, policy)
    if status != _OK:
        raise SrtpError(f"libsrtp could not create a session (status {status})")
    return ffi.gc(session, _dealloc)


def _dealloc(session: Any) -> None:
    lib.srtp_dealloc(session[0])


class SrtpContext:
    """Both directions of one leg: `local` encrypts what we send, `remote` decrypts theirs.

    libsrtp works in place: each direction copies the packet into its own
    preallocated buffer, protects or unprotects it there, and returns the
    result as new bytes. RTCP shares the direction's session and buffer.
    """

    __slots__ = (
        "_rx",
        "_rx_buffer",
        "_rx_length",
        "_rx_session",
        "_rx_view",
        "_tx",
        "_tx_buffer",
        "_tx_length",
        "_tx_session",
        "_tx_view",
        "rejected",
        "rejected_rtcp",
        "suite",
    )

    def __init__(self, local: SrtpKey, remote: SrtpKey) -> None:
        if local.suite != remote.suite:
            raise ValueError("both directions of a leg use the same suite")
        self.suite = local.suite
        # the srtp_t * keep the sessions alive (and free them); the srtp_t go to libsrtp
        self._tx_session = _session(local, lib.ssrc_any_outbound)
        self._rx_session = _session(remote, lib.ssrc_any_inbound)
        self._tx, self._rx = self._tx_session[0], self._rx_session[0]
        self._tx_buffer = ffi.new("char[]", _BUFFER)
        self._rx_buffer = ffi.new("char[]", _BUFFER)
        self._tx_view: _Buffer = ffi.buffer(self._tx_buffer)
        self._rx_view: _Buffer = ffi.buffer(self._rx_buffer)
        self._tx_length, self._rx_length = ffi.new("int *"), ffi.new("int *")
        self.rejected = 0  # SRTP packets dropped: bad auth tag, replay, garbage
        # SRTCP likewise (baresip, for one, sends a plain RTCP APP "PINGPONG" first)
        self.rejected_rtcp = 0

    def protect(self, packet: bytes) -> bytes:
        """The SRTP packet for a plain RTP one; SrtpError if libsrtp refuses it."""
        size = len(packet)
        if size > _MAX_RTP:
            raise SrtpError(f"RTP packet of {size} bytes is too long to protect")
        view = self._tx_view
        view[0:size] = packet
        length = self._tx_length
        length[0] = size
        status = _protect(self._tx, self._tx_buffer, length)
        if status:
            raise SrtpError(f"libsrtp could not protect an RTP packet (status {status})")
        return view[0 : length[0]]

    def unprotect(self, packet: bytes) -> bytes | None:
        """The plain RTP packet, or None (counted) when it fails authentication or replays."""
        size = len(packet)
        if size > _BUFFER:  # unprotect only shortens a packet: any that fits will do
            self.rejected += 1
            return None
        view = self._rx_view
        view[0:size] = packet
        length = self._rx_length
        length[0] = size
        if _unprotect(self._rx, self._rx_buffer, length):
            self.rejected += 1
            return None
        return view[0 : length[0]]

    def protect_rtcp(self, packet: bytes) -> bytes:
        """The SRTCP packet for a plain compound RTCP one; SrtpError if libsrtp refuses it."""
        size = len(packet)
        if size > _MAX_RTCP:
            raise SrtpError(f"RTCP packet of {size} bytes is too long to protect")
        self._tx_view[0:size] = packet
        self._tx_length[0] = size
        status = lib.srtp_protect_rtcp(self._tx, self._tx_buffer, self._tx_length)
        if status:
            raise SrtpError(f"libsrtp could not protect an RTCP packet (status {status})")
        return self._tx_view[0 : self._tx_length[0]]

    def unprotect_rtcp(self, packet: bytes) -> bytes | None:
        """The plain RTCP packet, or None (counted) when it fails authentication or replays."""
        size = len(packet)
        if size > _BUFFER:
            self.rejected_rtcp += 1
            return None
        self._rx_view[0:size] = packet
        self._rx_length[0] = size
        if lib.srtp_unprotect_rtcp(self._rx, self._rx_buffer, self._rx_length):
            self.rejected_rtcp += 1
            return None
        return self._rx_view[0 : self._rx_length[0]]
