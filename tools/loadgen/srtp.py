"""SDES keys for the generator's streams (``--srtp``): one fresh key per stream and suite."""

from __future__ import annotations

from media.srtp import SrtpContext, SrtpKey, SrtpSuite
from softswitch.sip import sdp

__all__ = ["StreamKeys"]


class StreamKeys:
    """Our keys for one stream; `context` pairs them with what the far end's SDP said."""

    def __init__(self) -> None:
        self._keys = {suite: SrtpKey.generate(suite) for suite in SrtpSuite}
        self.key_params = {str(suite): key.key_params for suite, key in self._keys.items()}

    @staticmethod
    def usable(suite: str, key_params: str) -> bool:
        try:
            SrtpKey.from_key_params(suite, key_params)
        except ValueError:
            return False
        return True

    def context(self, negotiated: sdp.NegotiatedCrypto | None) -> SrtpContext:
        if negotiated is None:
            raise sdp.SdpError("the switch did not negotiate SRTP")
        suite = SrtpSuite(negotiated.suite)
        remote = SrtpKey.from_key_params(suite, negotiated.remote_key_params)
        return SrtpContext(self._keys[suite], remote)
