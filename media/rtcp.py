"""RTCP (RFC 3550 section 6): SR/RR/SDES/BYE and receiver statistics.

`ReceiverStats` keeps the per-source state of RFC 3550 appendix A.1
(extended highest sequence number, expected vs received) and A.8
(interarrival jitter) and turns it into a `ReportBlock` (section 6.4.1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from media.pcm import RATE
from media.rtp import MAX_DROPOUT, MAX_MISORDER

__all__ = [
    "Bye",
    "ReceiverReport",
    "ReceiverStats",
    "ReportBlock",
    "SenderReport",
    "build_compound",
    "ntp_middle",
    "ntp_timestamp",
    "parse_compound",
    "round_trip_time",
    "sdes_cname",
]

SR, RR, SDES, BYE, APP = 200, 201, 202, 203, 204
_NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01
_HEADER = struct.Struct("!BBH")
_SR_INFO = struct.Struct("!IIIIII")  # ssrc, ntp msw, ntp lsw, rtp ts, packets, octets
_BLOCK = struct.Struct("!IIIIII")  # ssrc, fraction|lost, highest, jitter, lsr, dlsr


def ntp_timestamp(unix_time: float) -> int:
    """64-bit NTP timestamp (32.32 fixed point since 1900) for a Unix time."""
    return int((unix_time + _NTP_EPOCH_OFFSET) * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


def ntp_middle(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp, as used by LSR (RFC 3550 6.4.1)."""
    return (ntp >> 16) & 0xFFFFFFFF


@dataclass(slots=True)
class ReportBlock:
    ssrc: int
    fraction_lost: int  # 0..255, fraction of packets lost since the previous report * 256
    cumulative_lost: int  # signed 24 bit (duplicates can make it negative)
    highest_seq: int  # extended highest sequence number received
    jitter: int  # interarrival jitter in timestamp units
    lsr: int = 0  # middle 32 bits of the last SR's NTP time, 0 = none
    dlsr: int = 0  # delay since that SR, 1/65536 s

    def to_bytes(self) -> bytes:
        lost = max(-0x800000, min(0x7FFFFF, self.cumulative_lost)) & 0xFFFFFF
        return _BLOCK.pack(
            self.ssrc & 0xFFFFFFFF,
            (self.fraction_lost & 0xFF) << 24 | lost,
            self.highest_seq & 0xFFFFFFFF,
            self.jitter & 0xFFFFFFFF,
            self.lsr & 0xFFFFFFFF,
            self.dlsr & 0xFFFFFFFF,
        )

    @classmethod
    def parse(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, lost_word, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, offset)
        lost = lost_word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 0x1000000
        return cls(ssrc, lost_word >> 24, lost, highest, jitter, lsr, dlsr)


def _header(count: int, packet_type: int, body_len: int) -> bytes:
    return _HEADER.pack(0x80 | count, packet_type, body_len // 4)


@dataclass(slots=True)
class SenderReport:
    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: list[ReportBlock] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        if len(self.reports) > 31:
            raise ValueError("at most 31 report blocks")
        body = _SR_INFO.pack(
            self.ssrc & 0xFFFFFFFF,
            (self.ntp_timestamp >> 32) & 0xFFFFFFFF,
            self.ntp_timestamp & 0xFFFFFFFF,
            self.rtp_timestamp & 0xFFFFFFFF,
            self.packet_count & 0xFFFFFFFF,
            self.octet_count & 0xFFFFFFFF,
        ) + b"".join(block.to_bytes() for block in self.reports)
        return _header(len(self.reports), SR, len(body)) + body


@dataclass(slots=True)
class ReceiverReport:
    ssrc: int
    reports: list[ReportBlock] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        if len(self.reports) > 31:
            raise ValueError("at most 31 report blocks")
        body = struct.pack("!I", self.ssrc & 0xFFFFFFFF) + b"".join(
            b.to_bytes() for b in self.reports
        )
        return _header(len(self.reports), RR, len(body)) + body


@dataclass(slots=True)
class Bye:
    ssrcs: tuple[int, ...]
    reason: str = ""

    def to_bytes(self) -> bytes:
        body = b"".join(struct.pack("!I", s & 0xFFFFFFFF) for s in self.ssrcs)
        if self.reason:
            text = self.reason.encode()[:255]
            body += bytes([len(text)]) + text
            body += b"\x00" * (-len(body) % 4)
        return _header(len(self.ssrcs), BYE, len(body)) + body


def sdes_cname(ssrc: int, cname: str) -> bytes:
    """An SDES packet with one chunk carrying the CNAME item (required in every compound)."""
    text = cname.encode()[:255]
    chunk = struct.pack("!I", ssrc & 0xFFFFFFFF) + bytes([1, len(text)]) + text + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return _header(1, SDES, len(chunk)) + chunk


def build_compound(
    report: SenderReport | ReceiverReport, cname: str, bye: Bye | None = None
) -> bytes:
    """SR or RR first, then SDES CNAME (RFC 3550 6.1), then an optional BYE."""
    data = report.to_bytes() + sdes_cname(report.ssrc, cname)
    if bye is not None:
        data += bye.to_bytes()
    return data


RtcpPacket = SenderReport | ReceiverReport | Bye


def parse_compound(data: bytes) -> list[RtcpPacket]:
    """SR, RR and BYE packets of a compound datagram (SDES, APP and others skipped).

    Raises ValueError (only) on a malformed datagram.
    """
    data = bytes(data)
    out: list[RtcpPacket] = []
    offset = 0
    size = len(data)
    if size < 4:
        raise ValueError("RTCP packet shorter than 4 bytes")
    while offset < size:
        if size - offset < 4:
            raise ValueError("truncated RTCP header")
        first, packet_type, words = _HEADER.unpack_from(data, offset)
        if first >> 6 != 2:
            raise ValueError(f"RTCP version {first >> 6}, expected 2")
        end = offset + 4 * (words + 1)
        if end > size:
            raise ValueError("RTCP length beyond the datagram")
        if first & 0x20:
            if end != size:
                raise ValueError("RTCP padding only allowed in the last packet")
            pad = data[end - 1]
            if pad == 0 or pad > end - offset - 4:
                raise ValueError("bad RTCP padding")
            body_end = end - pad
        else:
            body_end = end
        count = first & 0x1F
        body = offset + 4
        if packet_type == SR:
            if body_end - body < 24 + 24 * count:
                raise ValueError("SR shorter than its report count")
            ssrc, msw, lsw, rtp_ts, packets, octets = _SR_INFO.unpack_from(data, body)
            blocks = [ReportBlock.parse(data, body + 24 + 24 * i) for i in range(count)]
            out.append(SenderReport(ssrc, msw << 32 | lsw, rtp_ts, packets, octets, blocks))
        elif packet_type == RR:
            if body_end - body < 4 + 24 * count:
                raise ValueError("RR shorter than its report count")
            (ssrc,) = struct.unpack_from("!I", data, body)
            blocks = [ReportBlock.parse(data, body + 4 + 24 * i) for i in range(count)]
            out.append(ReceiverReport(ssrc, blocks))
        elif packet_type == BYE:
            if body_end - body < 4 * count:
                raise ValueError("BYE shorter than its source count")
            ssrcs = struct.unpack_from(f"!{count}I", data, body)
            reason = ""
            at = body + 4 * count
            if at < body_end:
                length = data[at]
                if at + 1 + length > body_end:
                    raise ValueError("BYE reason beyond the packet")
                reason = data[at + 1 : at + 1 + length].decode("utf-8", "replace")
            out.append(Bye(tuple(ssrcs), reason))
        offset = end
    return out


class ReceiverStats:
    """Reception statistics for one remote source (RFC 3550 A.1, A.3, A.8).

    `update` runs once per received packet, so it is kept to plain integer
    and float arithmetic.
    """

    __slots__ = (
        "clock_rate",
        "ssrc",
        "base_seq",
        "max_seq",
        "cycles",
        "bad_seq",
        "received",
        "expected_prior",
        "received_prior",
        "jitter",
        "_last_arrival",
        "_last_ts",
        "lsr",
        "_sr_arrival",
    )

    def __init__(self, clock_rate: int = RATE) -> None:
        self.clock_rate = clock_rate
        self.ssrc: int | None = None
        self.lsr = 0  # middle 32 bits of the NTP time of the last SR from this source
        self._sr_arrival = 0.0
        self._reset(0)

    def _reset(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.cycles = 0
        self.bad_seq = -1
        self.received = 0
        self.expected_prior = 0
        self.received_prior = 0
        self.jitter = 0.0
        self._last_arrival: float | None = None
        self._last_ts = 0

    def update(self, ssrc: int, seq: int, timestamp: int, arrival: float | None) -> None:
        """Account one packet; `arrival` in seconds on any monotonic clock.

        `arrival` None counts the packet without a jitter sample: for packets
        whose timestamp is not their sampling instant (RFC 4733 updates repeat
        the event's start timestamp).
        """
        if ssrc != self.ssrc:
            self.ssrc = ssrc
            self.lsr = 0
            self._reset(seq)
        else:
            udelta = (seq - self.max_seq) & 0xFFFF
            if udelta < MAX_DROPOUT:
                if seq < self.max_seq:
                    self.cycles += 65536
                self.max_seq = seq
            elif udelta <= 65536 - MAX_MISORDER:
                # A very large jump: believe it only when the next packet follows it.
                if seq != self.bad_seq:
                    self.bad_seq = (seq + 1) & 0xFFFF
                    return
                self._reset(seq)
            # else: duplicate or reordered packet, counted below
        self.received += 1
        if arrival is None:
            return
        last_arrival = self._last_arrival
        if last_arrival is not None:
            ts_delta = ((timestamp - self._last_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            d = (arrival - last_arrival) * self.clock_rate - ts_delta
            if d < 0:
                d = -d
            self.jitter += (d - self.jitter) / 16.0
        self._last_arrival = arrival
        self._last_ts = timestamp

    @property
    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return self.extended_max - self.base_seq + 1

    @property
    def lost(self) -> int:
        return self.expected - self.received if self.received else 0

    def on_sender_report(self, ntp: int, arrival: float) -> None:
        """Remember an SR from this source for the LSR/DLSR fields of our next report."""
        self.lsr = ntp_middle(ntp)
        self._sr_arrival = arrival

    def report_block(self, now: float) -> ReportBlock:
        """Build a report block and start a new fraction-lost interval (A.3)."""
        expected = self.expected
        expected_interval = expected - self.expected_prior
        received_interval = self.received - self.received_prior
        self.expected_prior = expected
        self.received_prior = self.received
        lost_interval = expected_interval - received_interval
        fraction = (
            0
            if expected_interval <= 0 or lost_interval <= 0
            else (lost_interval << 8) // expected_interval
        )
        dlsr = int((now - self._sr_arrival) * 65536) if self.lsr else 0
        return ReportBlock(
            ssrc=self.ssrc or 0,
            fraction_lost=min(fraction, 255),
            cumulative_lost=self.lost,
            highest_seq=self.extended_max & 0xFFFFFFFF,
            jitter=int(self.jitter),
            lsr=self.lsr,
            dlsr=max(dlsr, 0),
        )


def round_trip_time(block: ReportBlock, arrival_unix: float) -> float | None:
    """RTT in seconds from a report block about us (RFC 3550 6.4.1), None without LSR."""
    if not block.lsr:
        return None
    now = ntp_middle(ntp_timestamp(arrival_unix))
    rtt = (now - block.lsr - block.dlsr) & 0xFFFFFFFF
    if rtt & 0x80000000:  # clock steps or a bogus DLSR: no meaningful RTT
        return None
    return rtt / 65536.0
