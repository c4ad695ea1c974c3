import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.rtcp import (
    Bye,
    ReceiverReport,
    ReceiverStats,
    ReportBlock,
    SenderReport,
    build_compound,
    ntp_middle,
    ntp_timestamp,
    parse_compound,
    round_trip_time,
    sdes_cname,
)


def block(**kw) -> ReportBlock:
    values = dict(
        ssrc=7,
        fraction_lost=64,
        cumulative_lost=-3,
        highest_seq=70000,
        jitter=12,
        lsr=0x12345678,
        dlsr=65536,
    )
    values.update(kw)
    return ReportBlock(**values)


def test_sender_report_wire_format_and_roundtrip() -> None:
    sr = SenderReport(
        ssrc=0xAABBCCDD,
        ntp_timestamp=0x0102030405060708,
        rtp_timestamp=160,
        packet_count=5,
        octet_count=800,
        reports=[block()],
    )
    data = sr.to_bytes()
    assert len(data) == 4 + 24 + 24
    assert data[:4] == bytes([0x81, 200, 0, 12])
    assert struct.unpack_from("!II", data, 8) == (0x01020304, 0x05060708)
    assert parse_compound(data) == [sr]


def test_receiver_report_roundtrip_and_negative_lost() -> None:
    rr = ReceiverReport(
        ssrc=1, reports=[block(cumulative_lost=-3), block(ssrc=8, cumulative_lost=0x7FFFFF)]
    )
    data = rr.to_bytes()
    assert data[:2] == bytes([0x82, 201])
    assert parse_compound(data) == [rr]


def test_cumulative_lost_saturates_at_24_bits() -> None:
    (parsed,) = parse_compound(ReceiverReport(1, [block(cumulative_lost=10**9)]).to_bytes())
    assert parsed.reports[0].cumulative_lost == 0x7FFFFF


def test_compound_with_sdes_and_bye() -> None:
    rr = ReceiverReport(ssrc=5)
    data = build_compound(rr, "me@example", Bye((5,), "hangup"))
    assert len(data) % 4 == 0
    packets = parse_compound(data)
    assert packets == [rr, Bye((5,), "hangup")]
    sdes = sdes_cname(5, "abc")
    assert sdes[1] == 202 and b"abc" in sdes and len(sdes) % 4 == 0


def test_padding_on_last_packet() -> None:
    body = struct.pack("!I", 9) + b"\x00\x00\x00\x04"
    data = bytes([0xA0, 201]) + struct.pack("!H", len(body) // 4) + body
    assert parse_compound(data) == [ReceiverReport(9)]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\xc9",
        b"\x40\xc9\x00\x01\x00\x00\x00\x00",
        b"\x80\xc9\x00\x05\x00\x00\x00\x00",
        b"\x81\xc9\x00\x01\x00\x00\x00\x00",
        b"\xa0\xc9\x00\x01\x00\x00\x00\x00",
    ],
)
def test_garbage_raises_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_compound(data)


@given(st.binary(max_size=200))
def test_fuzz_only_value_error(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_compound(data)


@given(
    st.binary(min_size=4, max_size=200).map(
        lambda b: bytes([0x80 | (b[0] & 0x3F), 200 + b[1] % 5]) + b[2:]
    )
)
def test_fuzz_plausible_headers(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_compound(data)


def test_ntp_helpers() -> None:
    ntp = ntp_timestamp(0.5)
    assert ntp >> 32 == 2208988800 and ntp & 0xFFFFFFFF == 1 << 31
    assert ntp_middle(ntp) == ((2208988800 & 0xFFFF) << 16) | 0x8000


def test_round_trip_time() -> None:
    sent = 1_700_000_000.0
    lsr = ntp_middle(ntp_timestamp(sent))
    rtt = round_trip_time(block(lsr=lsr, dlsr=65536 // 2), sent + 0.75)
    assert rtt == pytest.approx(0.25, abs=1e-3)
    assert round_trip_time(block(lsr=0), sent) is None


def feed(stats: ReceiverStats, seqs, ssrc: int = 1, spacing: float = 0.02) -> None:
    for i, seq in enumerate(seqs):
        stats.update(ssrc, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, i * spacing)


def test_stats_no_loss_perfect_timing() -> None:
    stats = ReceiverStats()
    feed(stats, range(100, 200))
    rb = stats.report_block(now=2.0)
    assert (rb.ssrc, rb.fraction_lost, rb.cumulative_lost, rb.highest_seq, rb.jitter) == (
        1,
        0,
        0,
        199,
        0,
    )


def test_stats_loss_fraction_and_interval() -> None:
    stats = ReceiverStats()
    feed(
        stats, [s for s in range(0, 100) if s % 4 != 1]
    )  # 25 of 100 lost (seq 97 last... 99 received)
    rb = stats.report_block(now=0)
    assert rb.cumulative_lost == 25
    assert rb.fraction_lost == 64  # 25% * 256
    feed(stats, range(100, 200))
    rb = stats.report_block(now=0)
    assert rb.fraction_lost == 0 and rb.cumulative_lost == 25


def test_stats_wraparound_extends_highest_seq() -> None:
    stats = ReceiverStats()
    feed(stats, range(65530, 65540))
    rb = stats.report_block(now=0)
    assert rb.highest_seq == 65539 and rb.cumulative_lost == 0


def test_stats_jitter_follows_a8() -> None:
    stats = ReceiverStats()
    # Alternate arrivals 10 ms early / late: every transit difference is 10 ms = 80 units.
    for i in range(400):
        stats.update(1, i, i * 160, i * 0.02 + (0.01 if i % 2 else 0.0))
    assert stats.jitter == pytest.approx(80, rel=0.01)


def test_stats_timestamp_wrap_does_not_spike_jitter() -> None:
    stats = ReceiverStats()
    for i in range(50):
        stats.update(1, i, (0xFFFFFFFF - 800 + i * 160) & 0xFFFFFFFF, i * 0.02)
    assert stats.jitter < 1


def test_stats_new_ssrc_restarts_and_big_jump_needs_confirmation() -> None:
    stats = ReceiverStats()
    feed(stats, range(10))
    stats.update(1, 30000, 0, 1.0)  # one stray packet far away: ignored
    assert stats.extended_max == 9 and stats.received == 10
    stats.update(1, 30001, 160, 1.02)  # followed in sequence: the source restarted
    assert stats.extended_max == 30001 and stats.received == 1
    stats.update(2, 5, 0, 2.0)
    assert stats.ssrc == 2 and stats.received == 1 and stats.lost == 0


def test_stats_lsr_dlsr() -> None:
    stats = ReceiverStats()
    feed(stats, range(5))
    ntp = ntp_timestamp(1_700_000_000.0)
    stats.on_sender_report(ntp, arrival=10.0)
    rb = stats.report_block(now=11.5)
    assert rb.lsr == ntp_middle(ntp)
    assert rb.dlsr == int(1.5 * 65536)


def test_stats_update_without_arrival_counts_but_skips_jitter() -> None:
    stats = ReceiverStats()
    feed(stats, range(10))
    for seq in range(10, 15):
        stats.update(1, seq, 9 * 160, None)  # telephone-event packets: one timestamp
    feed_more = [(15 + i, (15 + i) * 160, (15 + i) * 0.02) for i in range(5)]
    for seq, ts, at in feed_more:
        stats.update(1, seq, ts, at)
    assert stats.received == 20 and stats.lost == 0
    assert stats.jitter < 1
