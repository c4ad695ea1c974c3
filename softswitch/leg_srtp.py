"""One leg's SRTP: the mode it gets, our key per suite, the context its RTP session uses.

Each leg (channel) has its own keys, so a plain leg and an SRTP leg bridge like
any two legs: the bridge sees decrypted audio on both sides.

SDES keys sit in the SDP in clear text: anyone who reads the SIP can decrypt
the call. So SRTP is only negotiated on a leg whose signaling runs over TLS,
unless ``[rtp] srtp_over_plain_sip`` says the network is trusted. The
transport is the dialog's (``softswitch.sip.transport.Peer.transport``): a leg
whose phone or trunk speaks TLS ([sip] tls_listen, a trunk's transport = "tls")
may carry keys.
"""

from __future__ import annotations

from media.srtp import SrtpContext, SrtpKey, SrtpSuite

from .config import Config, TrunkConfig
from .sip.sdp import NegotiatedCrypto, SdpError, SrtpMode

__all__ = ["SECURE_TRANSPORTS", "LegSrtp", "configured_mode", "leg_mode"]

SECURE_TRANSPORTS = frozenset({"TLS"})  # Peer.transport names that protect the SDP


def configured_mode(config: Config, trunk: TrunkConfig | None = None) -> SrtpMode:
    """The trunk's own `srtp` if set, else ``[rtp] srtp``."""
    return SrtpMode(trunk.srtp if trunk is not None and trunk.srtp else config.rtp.srtp)


def leg_mode(configured: SrtpMode, transport: str, *, over_plain_sip: bool) -> SrtpMode:
    """The mode a leg signaled over ``transport`` gets; SdpError (488) if none can do.

    Optional SRTP over plain SIP falls back to plain RTP (no keys in clear
    text); mandatory SRTP over plain SIP cannot be had at all.
    """
    if configured is SrtpMode.OFF or over_plain_sip or transport.upper() in SECURE_TRANSPORTS:
        return configured
    if configured is SrtpMode.MANDATORY:
        raise SdpError(f"SRTP is mandatory but SDES keys would travel over plain {transport} SIP")
    return SrtpMode.OFF


def usable_key(suite: str, key_params: str) -> bool:
    """Can libsrtp use this offered/answered key (sdp.KeyCheck)?"""
    try:
        SrtpKey.from_key_params(suite, key_params)
    except ValueError:
        return False
    return True


class LegSrtp:
    """Our keys for one leg (made once, kept across re-INVITEs) and the peer's, once known."""

    def __init__(self, mode: SrtpMode = SrtpMode.OFF) -> None:
        self.mode = mode
        self._keys = (
            {} if mode is SrtpMode.OFF else {suite: SrtpKey.generate(suite) for suite in SrtpSuite}
        )
        # suite name -> our inline key params, in our order of preference
        self.key_params: dict[str, str] = {
            str(suite): key.key_params for suite, key in self._keys.items()
        }
        self._negotiated: NegotiatedCrypto | None = None
        self._context: SrtpContext | None = None

    def context(self, negotiated: NegotiatedCrypto | None) -> SrtpContext | None:
        """The context for what SDP settled; the same one while the keys do not change.

        A re-INVITE that repeats the keys keeps the context (and its replay
        window and rollover counter); new keys start a new one.
        """
        if negotiated is None:
            self._negotiated = self._context = None
            return None
        if negotiated != self._negotiated or self._context is None:
            suite = SrtpSuite(negotiated.suite)
            remote = SrtpKey.from_key_params(suite, negotiated.remote_key_params)
            self._context = SrtpContext(self._keys[suite], remote)
            self._negotiated = negotiated
        return self._context
