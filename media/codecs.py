"""The audio codecs an RTP session speaks: G.711 (PCMU, PCMA), G.722 and Opus.

`SPECS` says what SDP and RTP need to know of each (its audio rate, its RTP clock, the
static payload type or none, the rtpmap's channel count, our fmtp); `coder()` makes the
encoder/decoder pair one session uses. G.711 is stateless (media.g711's tables); G.722
and Opus keep state per stream direction, so each session owns its own pair.

Decoded audio is mono int16 at the codec's `rate` in 20 ms frames: 160 samples for
G.711, 320 for G.722 and Opus (decoded at 16 kHz: libopus resamples inside its own
decoder, so no 48 kHz stage exists here although Opus's RTP clock is 48000, RFC 7587).
G.722's RTP clock is 8000 although it samples at 16 kHz (RFC 3551 section 4.5.2).

Libraries: `G722` (PyPI g722, sippy's libg722 as a C extension: the public-domain
Steve Underwood/CMU code Asterisk and FreeSWITCH also ship) and `opuslib` (ctypes over
the system's libopus0). Opus encodes with in-band FEC (RFC 7587 useinbandfec=1): a
packet also carries a coarse copy of the one before, which `Coder.recover` decodes when
that one is lost and the next has already arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from media import g711
from media.pcm import FRAME_MS, Samples

__all__ = ["SPECS", "Coder", "CodecSpec", "coder", "spec", "unavailable"]


@dataclass(frozen=True, slots=True)
class CodecSpec:
    name: str  # as SDP's rtpmap spells it
    rate: int  # decoded audio samples per second
    clock: int  # RTP timestamp units per second (and the telephone-event's clock)
    payload_type: int | None  # static PT (RFC 3551), None: dynamic
    channels: int = 1  # in the rtpmap (Opus always says 2, RFC 7587)
    fmtp: str | None = None  # what we ask for in our a=fmtp

    @property
    def frame(self) -> int:
        """Samples in a 20 ms decoded frame."""
        return self.rate * FRAME_MS // 1000

    @property
    def step(self) -> int:
        """RTP timestamp units in 20 ms."""
        return self.clock * FRAME_MS // 1000

    @property
    def wideband(self) -> bool:
        return self.rate > 8000


# By upper-case name, the key SDP negotiation and RtpSession use.
SPECS: dict[str, CodecSpec] = {
    "PCMU": CodecSpec("PCMU", 8000, 8000, 0),
    "PCMA": CodecSpec("PCMA", 8000, 8000, 8),
    "G722": CodecSpec("G722", 16000, 8000, 9),
    "OPUS": CodecSpec("opus", 16000, 48000, None, 2, "useinbandfec=1"),
}

# Opus: 32 kbit/s keeps a 16 kHz voice wideband with FEC on (at libopus's default for
# this rate, ~19 kbit/s with FEC, it falls back to narrowband); the loss it plans FEC for.
OPUS_BITRATE = 32000
OPUS_EXPECTED_LOSS = 10  # percent
_OPUS_MAX_FRAME = 16000 * 120 // 1000  # the longest Opus packet (120 ms) at 16 kHz


def spec(name: str) -> CodecSpec:
    """The spec of a codec by its SDP name (any case); ValueError for one we lack."""
    found = SPECS.get(name.upper())
    if found is None:
        raise ValueError(f"unsupported codec {name!r} (have {', '.join(SPECS)})")
    return found


@dataclass(frozen=True, slots=True)
class Coder:
    """One session's encoder and decoder; `recover(next_payload)` rebuilds a lost frame
    from the FEC data of the packet after it (None: this codec has none)."""

    spec: CodecSpec
    encode: Callable[[Samples], bytes]
    decode: Callable[[bytes], Samples]
    recover: Callable[[bytes], Samples] | None = None


def coder(name: str) -> Coder:
    """A fresh encoder/decoder pair for `name` (ValueError if unsupported or unavailable)."""
    codec = spec(name)
    key = name.upper()
    if key in g711.ENCODERS:
        return Coder(codec, g711.ENCODERS[key], g711.DECODERS[key])
    if key == "G722":
        return _g722(codec)
    return _opus(codec)


def unavailable(name: str) -> str | None:
    """Why `name` cannot be used on this machine (its library is missing), or None."""
    try:
        coder(name)
    except (ValueError, ImportError, OSError) as exc:
        return str(exc)
    return None


def _g722(codec: CodecSpec) -> Coder:
    try:
        import G722  # type: ignore[import-not-found]  # the C extension (no stubs)
    except ImportError as exc:
        raise ValueError(f"G.722 is not available here (pip install g722): {exc}") from exc

    # one state per direction: the library's object keeps both, used for one each here
    encoder = G722.G722(codec.rate, 64000)
    decoder = G722.G722(codec.rate, 64000)
    frombuffer = np.frombuffer

    def decode(payload: bytes) -> Samples:
        return frombuffer(decoder.decode(payload), dtype=np.int16)

    return Coder(codec, encoder.encode, decode)


def _opus(codec: CodecSpec) -> Coder:
    try:
        import opuslib  # type: ignore[import-untyped]
        import opuslib.api.ctl  # type: ignore[import-untyped]
        import opuslib.api.encoder  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: libopus0 itself is missing
        raise ValueError(f"Opus is not available here: {exc}") from exc
    encoder = opuslib.Encoder(codec.rate, 1, opuslib.APPLICATION_VOIP)
    # opuslib 3.0.1's inband_fec setter drops its value: call the ctl directly
    opuslib.api.encoder.encoder_ctl(encoder.encoder_state, opuslib.api.ctl.set_inband_fec, 1)
    opuslib.api.encoder.encoder_ctl(
        encoder.encoder_state, opuslib.api.ctl.set_signal, 3001
    )  # OPUS_SIGNAL_VOICE: SILK, the layer that carries FEC
    encoder.bitrate = OPUS_BITRATE
    encoder.packet_loss_perc = OPUS_EXPECTED_LOSS
    decoder = opuslib.Decoder(codec.rate, 1)
    frame = codec.frame
    frombuffer = np.frombuffer
    encode_raw = encoder.encode
    decode_raw = decoder.decode

    def encode(samples: Samples) -> bytes:
        payload: bytes = encode_raw(samples.tobytes(), frame)
        return payload

    def decode(payload: bytes) -> Samples:
        try:
            return frombuffer(decode_raw(payload, _OPUS_MAX_FRAME), dtype=np.int16)
        except opuslib.OpusError:  # a corrupt packet: this frame is silence
            return np.zeros(frame, dtype=np.int16)

    def recover(following: bytes) -> Samples:
        try:
            return frombuffer(decode_raw(following, frame, decode_fec=True), dtype=np.int16)
        except opuslib.OpusError:
            return np.zeros(frame, dtype=np.int16)

    return Coder(codec, encode, decode, recover)
