"""One RTP session (a call leg's media): G.711, G.722 or Opus audio, RFC 4733 DTMF, RTCP.

The switch drives sessions from the media clock: every 20 ms tick it calls
`read_frame()` (what the peer said) and `write_frame()` (what the peer hears).

Per-packet work is kept small because it dominates the CPU cost of a call:
the receive callback reads the fixed header with one `struct.unpack_from`,
updates the RFC 3550 counters and stores the payload bytes in the jitter
buffer; decoding happens in `read_frame`, once per tick, in numpy. Sending is
one table lookup (encode), one `struct.pack` and one `sendto`.

Assumes 20 ms packets, which is what peers use by default; other sizes are padded /
truncated to 20 ms.

Rates: a leg's decoded frames are at its codec's rate (`rate`: 8000 for G.711, 16000
for G.722 and Opus), so their length says their rate (160 or 320 samples).
`write_frame` takes either and converts what is not at the leg's rate (numpy
half-band filters, media.resample), so a bridge, the mixer or a prompt at 8 kHz write
to any leg; `narrow`/`wide` give a received frame at 8 or 16 kHz to whoever needs that
rate (in-band DTMF detection, an 8 kHz recording, a 16 kHz conference mix).

Timestamps: +160 per written frame; when `write_frame` was not called for
more than 2.5 ticks (we sent nothing: silence), the timestamp jumps by the
elapsed time and the packet carries the marker bit (RFC 3551 4.1).

SRTP: with `srtp` set (a `media.srtp.SrtpContext`), packets are protected
right before `sendto` and unprotected right after they arrive, so everything
else here sees plain RTP; a plain session pays one None test per packet.

Latching and symmetric RTP: the session latches onto the first source that
sends a packet of a negotiated payload type (audio or telephone-event) and
from then on plays only packets from that address; packets from any other
address are dropped and counted (`injected`: RTP injection, or a stale
stream). With `symmetric` (the default) it also sends to the latched address,
which is where a phone behind NAT really is; without it, always to the SDP
address. It re-latches after `set_remote` (a re-INVITE, new SDP) or when the
latched source has been silent for `relatch_after` seconds and another
source sends valid packets. The common case, a packet from the latched
address, costs one tuple comparison; silence is judged from the packet
counters when a foreign packet arrives, not by timing every packet.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import random
import socket
import time
from collections.abc import Callable
from typing import TypeAlias, TypedDict

import numpy as np

from media import codecs, g711
from media.dtmf import DtmfReceiver, DtmfSender
from media.jitter import JitterBuffer
from media.pcm import FRAME, FRAME_SECONDS, RATE, SILENCE, Samples
from media.ports import PortAllocator
from media.resample import Downsampler, Upsampler
from media.rtcp import (
    Bye,
    ReceiverReport,
    ReceiverStats,
    ReportBlock,
    SenderReport,
    build_compound,
    ntp_timestamp,
    parse_compound,
    round_trip_time,
)
from media.rtp import HEADER, payload_bounds
from media.sockets import bound_socket
from media.srtp import SrtpContext

__all__ = ["DIRECTIONS", "RELATCH_AFTER", "Address", "RtpSession", "RtpStats"]

log = logging.getLogger(__name__)

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
PT_CN = 13  # comfort noise (RFC 3389): played as silence
_SILENCE_GAP = 2.5 * FRAME_SECONDS  # no write for this long = we were silent
_CONCEAL_FRAMES = 2  # repeat the last frame at -6 dB, -12 dB, then silence
RELATCH_AFTER = 2.0  # seconds the latched source must be silent before another may take over

# A UDP peer as the socket reports it: (host, port), or (host, port, flowinfo, scope_id) for IPv6.
Address: TypeAlias = tuple[str | int, ...]


class RtpStats(TypedDict):
    """`RtpSession.stats`: counters for CDRs and monitoring; jitter in milliseconds."""

    codec: str | None
    local_port: int
    remote: Address | None
    packets_sent: int
    octets_sent: int
    packets_received: int
    octets_received: int
    lost: int
    jitter: float
    concealed: int
    late: int
    duplicates: int
    dtmf_received: int
    ignored: int
    malformed: int
    injected: int
    send_errors: int
    remote_lost: int | None
    remote_fraction_lost: float | None
    remote_jitter: float | None
    rtt: float | None


class _DatagramProtocol(asyncio.DatagramProtocol):
    """Hands datagrams straight to a session method (no extra call hop per packet)."""

    def __init__(self, on_datagram: Callable[[bytes, Address], None], name: str) -> None:
        # An instance attribute over the method on purpose: one call hop less per packet.
        self.datagram_received = on_datagram  # type: ignore[assignment]
        self.name = name

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable while the peer is not listening yet: not an error for us.
        log.debug("%s socket error: %s", self.name, exc)


def _fit(frame: Samples, size: int = FRAME) -> Samples:
    if frame.shape[0] > size:
        return frame[:size]
    out = np.zeros(size, dtype=np.int16)
    out[: frame.shape[0]] = frame
    return out


class RtpSession:
    """Media of one call leg. Create with `await RtpSession.open(address, ports)`."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        ports: PortAllocator,
        address: str,
        local_port: int,
        *,
        rtcp_interval: float = 5.0,
        symmetric: bool = True,
        relatch_after: float = RELATCH_AFTER,
    ) -> None:
        self.local_address = address
        self.symmetric = symmetric  # send to the latched source rather than the SDP address
        self.relatch_after = relatch_after
        self.local_port = local_port
        self.on_dtmf: Callable[[str], None] | None = None
        self.codec: str | None = None
        self.payload_type: int | None = None
        self.dtmf_payload_type: int | None = None
        self.rtcp_interval = rtcp_interval
        self._loop = loop
        self._time = loop.time
        self._ports = ports
        self._rtp: asyncio.DatagramTransport | None = None
        self._rtcp: asyncio.DatagramTransport | None = None
        self._closed = False
        self._direction = "sendrecv"
        self._recv_ok = True
        self._send_ok = False
        self._pt = -1  # negotiated audio PT (-1: none yet, nothing matches)
        self._dtmf_pt = -1
        self._encode: Callable[[Samples], bytes] = g711.ulaw_encode
        self._decode: Callable[[bytes], Samples] = g711.ulaw_decode
        self._recover: Callable[[bytes], Samples] | None = None  # FEC (Opus)
        self.rate = RATE  # decoded audio rate of the codec
        self._frame = FRAME  # samples per decoded 20 ms frame
        self._step = FRAME  # RTP timestamp units per 20 ms
        self._clock = RATE  # RTP clock rate
        self._payload_size = FRAME  # a 20 ms payload's bytes, 0: variable (Opus)
        # rate converters, made when first needed: frames written at the other rate
        # (tx) and received frames asked for at the other rate (rx)
        self._tx_up: Upsampler | None = None
        self._tx_down: Downsampler | None = None
        self._rx_up: Upsampler | None = None
        self._rx_down: Downsampler | None = None
        # one silent frame in the codec (pass-through sends it for a silent peer)
        self.silence: bytes = g711.ulaw_encode(SILENCE)
        self._sdp_remote: tuple[str, int] | None = None
        self._remote: Address | None = None  # where RTP goes (latched source or SDP address)
        self._rtcp_remote: Address | None = None
        # SRTP keys of this leg (set from SDP); None: plain RTP
        self.srtp: SrtpContext | None = None
        # latching: the one address RTP is accepted from (None: the next valid packet's)
        self._source: Address | None = None
        self.source_ssrc: int | None = None  # the SSRC of the packet we latched on
        # packets_received + ignored, and the loop time, when the source was last seen alive
        self._mark_activity = -1
        self._mark_time = 0.0
        # sending state
        self._ssrc = random.getrandbits(32)
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._sent_any = False
        self._last_slot = 0.0  # loop time of the last frame slot we used (audio or DTMF)
        self._last_write = -1.0  # loop time of the last write_frame() call
        self._dtmf_tx = DtmfSender()
        self._dtmf_timer: asyncio.TimerHandle | None = None
        # receiving state
        self._jitter = JitterBuffer()
        self._rx = ReceiverStats(RATE)
        self._dtmf_rx = DtmfReceiver()
        self._last_frame: Samples | None = None
        self._last_payload: bytes | None = None  # pass-through: decoded only to conceal a loss
        self._concealing = 0
        # RTCP state
        self._rtcp_timer: asyncio.TimerHandle | None = None
        self._sent_at_last_report = 0
        self._remote_report: ReportBlock | None = None
        self._rtt: float | None = None
        self.remote_bye = False
        self.cname = f"softswitch-{self._ssrc:08x}@{address}"
        # counters
        self.packets_sent = 0
        self.octets_sent = 0
        self.packets_received = 0
        self.octets_received = 0
        self.dtmf_received = 0
        self.ignored = 0  # other payload types, or RTP while not receiving
        self.malformed = 0
        self.concealed = 0
        self.recovered = 0  # lost frames rebuilt from the next packet's FEC (Opus)
        self.injected = 0  # valid RTP from an address other than the latched one: dropped
        self.send_errors = 0  # sendto failures: logged once with the traceback, then counted

    # ------------------------------------------------------------------ setup

    @classmethod
    async def open(
        cls,
        address: str,
        ports: PortAllocator,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        rtcp_interval: float = 5.0,
        symmetric: bool = True,
        attempts: int = 64,
    ) -> RtpSession:
        """Bind RTP on an even port from `ports` and RTCP on the port above.

        A port pair someone else holds is skipped (up to `attempts` tries);
        PortsExhausted propagates when the range is used up.
        """
        loop = loop or asyncio.get_running_loop()
        error: OSError | None = None
        failed: list[int] = []  # held until we are done so each attempt gets another pair
        try:
            for _ in range(max(1, attempts)):
                port = ports.allocate()
                session = cls(
                    loop, ports, address, port, rtcp_interval=rtcp_interval, symmetric=symmetric
                )
                try:
                    session._rtp, _ = await loop.create_datagram_endpoint(
                        functools.partial(_DatagramProtocol, session._on_rtp, "RTP"),
                        sock=bound_socket(socket.SOCK_DGRAM, address, port),
                    )
                    session._rtcp, _ = await loop.create_datagram_endpoint(
                        functools.partial(_DatagramProtocol, session._on_rtcp, "RTCP"),
                        sock=bound_socket(socket.SOCK_DGRAM, address, port + 1),
                    )
                except OSError as exc:
                    error = exc
                    log.info(
                        "RTP port pair %s:%d unavailable (%s), trying another", address, port, exc
                    )
                    session._close_transports()
                    failed.append(port)
                    continue
                session._schedule_rtcp()
                return session
        finally:
            for port in failed:
                ports.release(port)
        raise OSError(
            f"could not bind an RTP/RTCP port pair on {address} in {attempts} tries: {error}"
        )

    def set_remote(
        self, address: str, port: int, codec: str, payload_type: int, dtmf_payload_type: int | None
    ) -> None:
        """Where to send and what to expect, from SDP; may be called again (re-INVITE)."""
        codec = codec.upper()
        codecs.spec(codec)  # ValueError for one we do not speak
        if port != 0 and not self.reaches(address):
            # Refused here, once, rather than failing on every packet sent there.
            family = "IPv6" if self.family == socket.AF_INET6 else "IPv4"
            raise ValueError(f"media address {address!r} unreachable from an {family} RTP socket")
        if codec != self.codec or payload_type != self.payload_type:
            self._jitter.reset()
            self._last_frame = None
            self._last_payload = None
        if codec != self.codec:
            self._use(codecs.coder(codec))
        self.codec = codec
        self.payload_type = payload_type
        self.dtmf_payload_type = dtmf_payload_type
        self._pt = payload_type
        self._dtmf_pt = -1 if dtmf_payload_type is None else dtmf_payload_type
        remote = None if port == 0 or address in ("", "0.0.0.0", "::") else (address, port)
        # New SDP (a re-INVITE): whoever sends valid RTP next is latched, the peer may have moved.
        self._source = None
        if remote != self._sdp_remote:
            # A new SDP address wins over what we latched to before; the same one keeps
            # media flowing to the latched address until the next packet latches again.
            self._sdp_remote = remote
            self._remote = remote
            self._rtcp_remote = None if remote is None else (address, port + 1)
        self._update_flags()

    def _use(self, coder: codecs.Coder) -> None:
        spec = coder.spec
        self._encode = coder.encode
        self._decode = coder.decode
        self._recover = coder.recover
        self.rate = spec.rate
        self._frame = spec.frame
        self._step = spec.step
        self._clock = spec.clock
        self._rx.clock_rate = spec.clock
        self._dtmf_tx.frame_samples = spec.step
        self._dtmf_tx.clock = spec.clock
        # G.711 and G.722 send one byte per RTP clock unit (64 kbit/s); Opus varies
        self._payload_size = spec.step if spec.clock == RATE else 0
        self._tx_up = self._tx_down = self._rx_up = self._rx_down = None
        self.silence = self._encode(np.zeros(spec.frame, dtype=np.int16))

    @property
    def family(self) -> socket.AddressFamily:
        """The RTP socket's address family (AF_INET or AF_INET6)."""
        sock = None if self._rtp is None else self._rtp.get_extra_info("socket")
        if sock is not None:
            return socket.AddressFamily(sock.family)
        return socket.AF_INET6 if ":" in self.local_address else socket.AF_INET

    def reaches(self, address: str) -> bool:
        """Can this session's socket send to `address`, an SDP connection address?

        Only IP literals of the socket's own family: an IPv4 socket cannot send to an
        IPv6 address (nor the reverse), and a host name would need a DNS lookup per
        packet. A hold address (0.0.0.0, ::) names nobody and is always acceptable.
        """
        if address in ("", "0.0.0.0", "::"):
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return (ip.version == 6) == (self.family == socket.AF_INET6)

    @property
    def direction(self) -> str:
        return self._direction

    @direction.setter
    def direction(self, value: str) -> None:
        if value not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {value!r}")
        self._direction = value
        self._update_flags()

    def _update_flags(self) -> None:
        recv_ok = self._direction in ("sendrecv", "recvonly")
        if self._recv_ok and not recv_ok:
            self._jitter.reset()
        self._recv_ok = recv_ok
        self._send_ok = self._direction in ("sendrecv", "sendonly") and self._remote is not None
        if not self._send_ok:
            self._dtmf_tx.clear()

    @property
    def remote(self) -> Address | None:
        """The (address, port) RTP is sent to, None when unknown."""
        return self._remote

    @property
    def ssrc(self) -> int:
        return self._ssrc

    # ---------------------------------------------------------------- receive

    def _on_rtp(self, data: bytes, addr: Address) -> None:
        srtp = self.srtp
        if srtp is not None:
            plain = srtp.unprotect(data)  # bad auth tag or replay: dropped, counted there
            if plain is None:
                return
            data = plain
        if len(data) < 12:
            self.malformed += 1
            return
        first, second, seq, ts, ssrc = HEADER.unpack_from(data)
        if first & 0xC0 != 0x80:
            self.malformed += 1
            return
        pt = second & 0x7F
        if pt == self._pt:
            kind = 0
        elif pt == self._dtmf_pt:
            kind = 1
        elif pt == PT_CN and self._pt >= 0:
            kind = 2
        else:
            self.ignored += 1
            return
        if addr != self._source and not self._from_elsewhere(addr, kind, ssrc):
            return
        if not self._recv_ok:
            self.ignored += 1
            return
        if first & 0x3F:  # CSRCs, extension or padding: the rare slow path
            try:
                start, end = payload_bounds(data)
            except ValueError:
                self.malformed += 1
                return
            payload = data[start:end]
        else:
            payload = data[12:]
        self.packets_received += 1
        self.octets_received += len(payload)
        if kind == 0:
            self._rx.update(ssrc, seq, ts, self._time())
            self._jitter.put(seq, ssrc, payload)
            return
        # Telephone events and comfort noise use the audio's sequence numbers:
        # a silent frame keeps the jitter buffer from counting them as lost.
        self._rx.update(ssrc, seq, ts, None if kind == 1 else self._time())
        self._jitter.put(seq, ssrc, b"")
        if kind == 1:
            digit = self._dtmf_rx.feed(payload, ts)
            if digit is not None:
                self.dtmf_received += 1
                callback = self.on_dtmf
                if callback is not None:
                    try:
                        callback(digit)
                    except Exception:
                        log.exception("on_dtmf callback failed")

    def _from_elsewhere(self, addr: Address, kind: int, ssrc: int) -> bool:
        """A valid packet from an address we are not latched to: latch to it, or drop it."""
        source = self._source
        now = self._time()
        if source is not None:
            activity = self.packets_received + self.ignored
            if activity != self._mark_activity:
                # The source was heard since we last looked: still alive, this is someone else.
                self._mark_activity = activity
                self._mark_time = now
                self.injected += 1
                return False
            if now - self._mark_time < self.relatch_after:
                self.injected += 1
                return False
        if kind == 2:  # comfort noise is played but latches nobody
            if source is None:
                return True
            self.injected += 1
            return False
        self._latch(addr, ssrc, now)
        return True

    def _latch(self, addr: Address, ssrc: int, now: float) -> None:
        previous = self._source
        self._source = addr
        self.source_ssrc = ssrc
        self._mark_activity = self.packets_received + self.ignored
        self._mark_time = now
        if previous is not None:
            log.warning(
                "RTP on port %d: source %s silent for %.1f s, re-latched to %s (SSRC %08x)",
                self.local_port,
                previous,
                self.relatch_after,
                addr,
                ssrc,
            )
        if not self.symmetric or addr == self._remote or self._sdp_remote is None:
            return
        log.info(
            "RTP on port %d: peer sends from %s, sending there instead of %s",
            self.local_port,
            addr,
            self._remote,
        )
        self._remote = addr
        self._update_flags()

    def read_frame(self) -> Samples | None:
        """The next 20 ms the peer said (int16[160]), concealed when lost; None when idle."""
        if not self._recv_ok:
            return None
        payload = self._jitter.pop()
        if payload is not None:
            if payload:
                frame = self._decode(payload)
                if frame.shape[0] != self._frame:
                    frame = _fit(frame, self._frame)
            else:
                frame = np.zeros(self._frame, dtype=np.int16)
            self._last_frame = frame
            self._last_payload = None
            self._concealing = 0
            return frame
        if not self._jitter.lost:
            return None
        return self._conceal()

    def narrow(self, frame: Samples) -> Samples:
        """A frame `read_frame` returned, at 8 kHz (the same frame for a G.711 leg)."""
        if frame.shape[0] == FRAME:
            return frame
        if self._rx_down is None:
            self._rx_down = Downsampler()
        return self._rx_down(frame)

    def wide(self, frame: Samples) -> Samples:
        """A frame `read_frame` returned, at 16 kHz (the same frame for a wideband leg)."""
        if frame.shape[0] != FRAME:
            return frame
        if self._rx_up is None:
            self._rx_up = Upsampler()
        return self._rx_up(frame)

    def read_payload(self) -> bytes | None:
        """`read_frame` without decoding: the next 20 ms as a payload of this session's
        codec, for a bridge passing audio through between legs of the same codec.

        The same jitter buffer, loss concealment and idle None as `read_frame`; an
        event or comfort-noise slot is `silence`; a payload of another packet size is
        decoded and re-encoded to 20 ms (rare: peers send 20 ms unless told otherwise).
        """
        if not self._recv_ok:
            return None
        payload = self._jitter.pop()
        if payload is not None:
            self._concealing = 0
            size = self._payload_size
            if len(payload) != size and (size or not payload):  # another packet time
                payload = (
                    self.silence
                    if not payload
                    else self._encode(_fit(self._decode(payload), self._frame))
                )
            self._last_payload = payload
            self._last_frame = None  # decoded only if a loss must be concealed
            return payload
        if not self._jitter.lost:
            return None
        return self._encode(self._conceal())

    def _conceal(self) -> Samples:
        """Packet loss concealment: the codec's FEC from the next packet if it is here
        (Opus), else fade the last frame out, then silence."""
        self.concealed += 1
        recover = self._recover
        if recover is not None:
            following = self._jitter.following()
            if following:
                self.recovered += 1
                self._concealing = 0
                frame = recover(following)
                if frame.shape[0] != self._frame:
                    frame = _fit(frame, self._frame)
                self._last_frame = frame
                return frame
        step = self._concealing
        self._concealing = step + 1
        last = self._last_frame
        if last is None and self._last_payload is not None:
            last = self._last_frame = self._decode(self._last_payload)
        if last is not None and step < _CONCEAL_FRAMES:
            return last >> (step + 1)
        return np.zeros(self._frame, dtype=np.int16)

    # ------------------------------------------------------------------- send

    def _next_slot(self, now: float) -> bool:
        """Advance the RTP timestamp to this tick's frame; True if it starts a talkspurt."""
        gap = now - self._last_slot
        self._last_slot = now
        if not self._sent_any:
            self._sent_any = True
            return True
        if gap > _SILENCE_GAP:
            self._ts = (self._ts + self._step * max(1, round(gap / FRAME_SECONDS))) & 0xFFFFFFFF
            return True
        self._ts = (self._ts + self._step) & 0xFFFFFFFF
        return False

    def _send(self, second: int, timestamp: int, payload: bytes) -> None:
        self._seq = seq = (self._seq + 1) & 0xFFFF
        packet = HEADER.pack(0x80, second, seq, timestamp, self._ssrc) + payload
        srtp = self.srtp
        if srtp is not None:
            packet = srtp.protect(packet)
        # Only reached while open (write_frame and the DTMF pump check): no None test per packet.
        try:  # free in CPython 3.11+ when nothing is raised
            self._rtp.sendto(  # type: ignore[union-attr]
                packet, self._remote
            )
        except (ValueError, OSError):
            self._send_failed()
            return
        self.packets_sent += 1
        self.octets_sent += len(payload)

    def _send_failed(self) -> None:
        # Logged once per session with the traceback, then counted: summary in close().
        self.send_errors += 1
        if self.send_errors == 1:
            log.exception(
                "RTP port %d: sending to %s failed (repeats are counted, not logged)",
                self.local_port,
                self._remote,
            )

    def write_frame(self, frame: Samples) -> None:
        """Encode and send one 20 ms frame now (nothing while on hold or with no remote);
        a frame at the other rate (160 samples to a wideband leg, 320 to a G.711 one)
        is converted first."""
        if not self._send_ok or self._closed:
            return
        if frame.shape[0] != self._frame:
            frame = self._convert(frame)
        now = self._time()
        self._last_write = now
        marker = self._next_slot(now)
        if self._dtmf_tx.active:
            self._send_dtmf_tick()  # the event replaces the audio of this tick
            return
        self._send(self._pt | 0x80 if marker else self._pt, self._ts, self._encode(frame))

    def _convert(self, frame: Samples) -> Samples:
        if frame.shape[0] < self._frame:
            if self._tx_up is None:
                self._tx_up = Upsampler()
            return self._tx_up(frame)
        if self._tx_down is None:
            self._tx_down = Downsampler()
        return self._tx_down(frame)

    def write_payload(self, payload: bytes) -> None:
        """`write_frame` of a payload already in this session's codec (pass-through):
        the same timestamps, sequence numbers, marker and DTMF as `write_frame`, so a
        bridge may switch between the two from one tick to the next."""
        if not self._send_ok or self._closed:
            return
        now = self._time()
        self._last_write = now
        marker = self._next_slot(now)
        if self._dtmf_tx.active:
            self._send_dtmf_tick()
            return
        self._send(self._pt | 0x80 if marker else self._pt, self._ts, payload)

    def send_dtmf(self, digit: str, duration_ms: int = 100) -> None:
        """Send an RFC 4733 digit over the next ticks (queued after any in progress).

        The train rides on the ticks of `write_frame`; when nobody writes frames
        a 20 ms timer of the session sends it. Dropped (logged) when the peer
        did not negotiate telephone-event or we are not sending.
        """
        if self._dtmf_pt < 0 or not self._send_ok:
            log.warning(
                "RTP port %d: cannot send DTMF %r (no telephone-event or not sending)",
                self.local_port,
                digit,
            )
            return
        self._dtmf_tx.send(digit, duration_ms)
        if self._dtmf_timer is None:
            self._dtmf_timer = self._loop.call_later(FRAME_SECONDS, self._dtmf_pump)

    def _dtmf_pump(self) -> None:
        self._dtmf_timer = None
        if self._closed or not self._dtmf_tx.active or not self._send_ok:
            return
        now = self._time()
        if now - self._last_write > 1.5 * FRAME_SECONDS:  # write_frame is not ticking
            self._next_slot(now)
            self._send_dtmf_tick()
        self._dtmf_timer = self._loop.call_later(FRAME_SECONDS, self._dtmf_pump)

    def _send_dtmf_tick(self) -> None:
        packet = self._dtmf_tx.tick(self._ts)
        if packet is not None:
            self._send(
                self._dtmf_pt | 0x80 if packet.marker else self._dtmf_pt,
                packet.timestamp,
                packet.payload,
            )

    # ------------------------------------------------------------------- RTCP

    def _schedule_rtcp(self) -> None:
        # RFC 3550 6.3.1: randomise the interval so sessions do not synchronise.
        delay = self.rtcp_interval * random.uniform(0.5, 1.5)
        self._rtcp_timer = self._loop.call_later(delay, self._rtcp_due)

    def _rtcp_due(self) -> None:
        self._rtcp_timer = None
        if self._closed:
            return
        self.send_rtcp()
        self._schedule_rtcp()

    def send_rtcp(self, *, bye: bool = False) -> None:
        """Send a compound report now: SR if we sent since the last one, else RR."""
        dest = self._rtcp_remote
        if dest is None or self._rtcp is None:
            return
        now = self._time()
        blocks = [self._rx.report_block(now)] if self._rx.ssrc is not None else []
        report: SenderReport | ReceiverReport
        if self.packets_sent > self._sent_at_last_report:
            # The RTP timestamp of "now" on our media timeline, for lip-sync/RTT tools.
            rtp_now = (self._ts + int((now - self._last_slot) * self._clock)) & 0xFFFFFFFF
            report = SenderReport(
                self._ssrc,
                ntp_timestamp(time.time()),
                rtp_now,
                self.packets_sent,
                self.octets_sent,
                blocks,
            )
        else:
            report = ReceiverReport(self._ssrc, blocks)
        self._sent_at_last_report = self.packets_sent
        data = build_compound(report, self.cname, Bye((self._ssrc,)) if bye else None)
        if self.srtp is not None:
            data = self.srtp.protect_rtcp(data)
        try:
            self._rtcp.sendto(data, dest)
        except OSError as exc:  # pragma: no cover - transport already reports most errors
            log.debug("RTCP send failed: %s", exc)

    def _on_rtcp(self, data: bytes, addr: Address) -> None:
        if self.srtp is not None:
            plain = self.srtp.unprotect_rtcp(data)
            if plain is None:
                return
            data = plain
        try:
            packets = parse_compound(data)
        except ValueError:
            self.malformed += 1
            return
        if (
            self.symmetric
            and self._sdp_remote is not None
            and addr != self._rtcp_remote
            and (self._source is None or addr[0] == self._source[0])
        ):
            # RTCP comes from the latched host (the port a NAT picked may differ).
            self._rtcp_remote = addr
        now = self._time()
        for packet in packets:
            if isinstance(packet, Bye):
                if self._rx.ssrc in packet.ssrcs:
                    self.remote_bye = True
                continue
            if isinstance(packet, SenderReport) and packet.ssrc == self._rx.ssrc:
                self._rx.on_sender_report(packet.ntp_timestamp, now)
            for block in packet.reports:
                if block.ssrc == self._ssrc:
                    self._remote_report = block
                    rtt = round_trip_time(block, time.time())
                    if rtt is not None:
                        self._rtt = rtt

    # ------------------------------------------------------------------ state

    @property
    def stats(self) -> RtpStats:
        """Counters for CDRs and monitoring; jitter in milliseconds."""
        remote = self._remote_report
        return {
            "codec": self.codec,
            "local_port": self.local_port,
            "remote": self._remote,
            "packets_sent": self.packets_sent,
            "octets_sent": self.octets_sent,
            "packets_received": self.packets_received,
            "octets_received": self.octets_received,
            "lost": self._rx.lost,
            "jitter": self._rx.jitter * 1000.0 / self._clock,
            "concealed": self.concealed,
            "late": self._jitter.late,
            "duplicates": self._jitter.duplicates,
            "dtmf_received": self.dtmf_received,
            "ignored": self.ignored,
            "malformed": self.malformed,
            "injected": self.injected,
            "send_errors": self.send_errors,
            "remote_lost": None if remote is None else remote.cumulative_lost,
            "remote_fraction_lost": None if remote is None else remote.fraction_lost / 256.0,
            "remote_jitter": None if remote is None else remote.jitter * 1000.0 / self._clock,
            "rtt": self._rtt,
        }

    def counters(self) -> tuple[int, int, int, int, float]:
        """(packets received, packets sent, lost, late, jitter in milliseconds): what the
        metrics sum over every live leg at each scrape, without building `stats`."""
        rx = self._rx
        return (
            self.packets_received,
            self.packets_sent,
            rx.lost,
            self._jitter.late,
            rx.jitter * 1000.0 / self._clock,
        )

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Send an RTCP BYE, close both sockets and give the ports back (idempotent)."""
        if self._closed:
            return
        if self.send_errors > 1:
            log.error(
                "RTP port %d: %d packets to %s could not be sent",
                self.local_port,
                self.send_errors,
                self._remote,
            )
        if self._sent_any or self._rx.ssrc is not None:
            self.send_rtcp(bye=True)
        self._closed = True
        self._send_ok = False
        for timer in (self._rtcp_timer, self._dtmf_timer):
            if timer is not None:
                timer.cancel()
        self._rtcp_timer = self._dtmf_timer = None
        self._close_transports()
        self._ports.release(self.local_port)

    def _close_transports(self) -> None:
        for transport in (self._rtp, self._rtcp):
            if transport is not None:
                transport.close()
        self._rtp = self._rtcp = None

    def __repr__(self) -> str:
        return (
            f"<RtpSession {self.local_address}:{self.local_port} -> {self._remote} "
            f"{self.codec} {self._direction}{' closed' if self._closed else ''}>"
        )
