"""SRTP (RFC 3711) for one call leg, keyed by SDES (RFC 4568), on libsrtp (pylibsrtp).

Each leg has its own keys: we encrypt what we send with our master key and
decrypt what the peer sends with the key it gave us in its SDP. The session
calls `protect`/`unprotect` at the socket boundary only, so everything above
it (jitter buffer, mixer, recorder, DTMF, transcription) sees plain RTP.

A packet that fails authentication or replays an old sequence number is
dropped and counted (`rejected`, `rejected_rtcp`), never handed on as audio.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from enum import StrEnum

import pylibsrtp

__all__ = ["KEY_LENGTH", "SrtpContext", "SrtpKey", "SrtpSuite"]

KEY_LENGTH = 30  # AES-128 master key (16) + master salt (14)


class SrtpSuite(StrEnum):
    """The SDES crypto suites we offer and accept, in our order of preference."""

    AES_CM_128_HMAC_SHA1_80 = "AES_CM_128_HMAC_SHA1_80"
    AES_CM_128_HMAC_SHA1_32 = "AES_CM_128_HMAC_SHA1_32"


# libsrtp's profiles; SRTCP keeps an 80-bit tag with both (RFC 4568 6.2.2).
_PROFILES = {
    SrtpSuite.AES_CM_128_HMAC_SHA1_80: pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    SrtpSuite.AES_CM_128_HMAC_SHA1_32: pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
}


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


class SrtpContext:
    """Both directions of one leg: `local` encrypts what we send, `remote` decrypts theirs."""

    def __init__(self, local: SrtpKey, remote: SrtpKey) -> None:
        if local.suite != remote.suite:
            raise ValueError("both directions of a leg use the same suite")
        self.suite = local.suite
        profile = _PROFILES[local.suite]
        self._tx = pylibsrtp.Session(
            pylibsrtp.Policy(
                key=local.material,
                ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                srtp_profile=profile,
            )
        )
        self._rx = pylibsrtp.Session(
            pylibsrtp.Policy(
                key=remote.material,
                ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
                srtp_profile=profile,
            )
        )
        self.rejected = 0  # SRTP packets dropped: bad auth tag, replay, garbage
        # SRTCP likewise (baresip, for one, sends a plain RTCP APP "PINGPONG" first)
        self.rejected_rtcp = 0

    def protect(self, packet: bytes) -> bytes:
        return self._tx.protect(packet)

    def unprotect(self, packet: bytes) -> bytes | None:
        """The plain RTP packet, or None (counted) when it fails authentication or replays."""
        try:
            return self._rx.unprotect(packet)
        except (pylibsrtp.Error, ValueError):  # ValueError: longer than libsrtp's buffer
            self.rejected += 1
            return None

    def protect_rtcp(self, packet: bytes) -> bytes:
        return self._tx.protect_rtcp(packet)

    def unprotect_rtcp(self, packet: bytes) -> bytes | None:
        try:
            return self._rx.unprotect_rtcp(packet)
        except (pylibsrtp.Error, ValueError):  # ValueError: longer than libsrtp's buffer
            self.rejected_rtcp += 1
            return None
