import pytest

from media.jitter import JitterBuffer
from media.rtp import RtpPacket

SSRC = 0x1234


def pkt(seq: int, ssrc: int = SSRC, ts: int | None = None) -> RtpPacket:
    seq &= 0xFFFF
    return RtpPacket(
        pt=0,
        seq=seq,
        timestamp=(ts if ts is not None else seq * 160) & 0xFFFFFFFF,
        ssrc=ssrc,
        payload=seq.to_bytes(2, "big"),
    )


def label(payload: bytes | None) -> int | None:
    return None if payload is None else int.from_bytes(payload, "big")


def run(jb: JitterBuffer, arrivals: list[list[int]]) -> list[int | None]:
    """Each tick: the packets that arrived since the last tick, then one pop."""
    out = []
    for tick in arrivals:
        for seq in tick:
            jb.push(pkt(seq))
        out.append(label(jb.pop()))
    return out


def test_waits_for_prefetch_then_plays_in_order() -> None:
    jb = JitterBuffer(prefetch=2)
    assert run(jb, [[10], [11], [12], [13], []]) == [None, 10, 11, 12, 13]
    assert not jb.lost


def test_reorders_within_window() -> None:
    jb = JitterBuffer(prefetch=2)
    assert run(jb, [[1], [3, 2], [5, 4], [6], [7], []]) == [None, 1, 2, 3, 4, 5]
    assert jb.lost_frames == 0 and jb.late == 0


def test_lost_frame_reported_and_skipped() -> None:
    jb = JitterBuffer(prefetch=2)
    results = []
    for arrivals in [[1], [2], [4], [5], [6]]:
        for seq in arrivals:
            jb.push(pkt(seq))
        results.append((label(jb.pop()), jb.lost))
    assert results == [(None, False), (1, False), (2, False), (None, True), (4, False)]
    assert jb.lost_frames == 1


def test_too_late_packet_dropped_after_its_slot() -> None:
    jb = JitterBuffer(prefetch=2)
    assert run(jb, [[1], [2], [4], [5]]) == [None, 1, 2, None]
    jb.push(pkt(3))  # its tick has passed
    assert jb.late == 1
    assert label(jb.pop()) == 4


def test_duplicates_dropped() -> None:
    jb = JitterBuffer(prefetch=2)
    assert run(jb, [[1, 1], [2, 2, 1], [3], []]) == [None, 1, 2, 3]
    assert jb.duplicates == 3
    jb.push(pkt(3))  # already played: late, not played twice
    assert jb.late == 1 and jb.pop() is None


def test_sequence_wraparound() -> None:
    jb = JitterBuffer(prefetch=2)
    seqs = [65533, 65534, 65535, 0, 1, 2]
    assert run(jb, [[s] for s in seqs] + [[]]) == [None, 65533, 65534, 65535, 0, 1, 2]


def test_reorder_across_wraparound() -> None:
    jb = JitterBuffer(prefetch=2)
    assert run(jb, [[65534], [0, 65535], [1], [2], []]) == [None, 65534, 65535, 0, 1]


def test_packet_before_start_still_played_in_order() -> None:
    jb = JitterBuffer(prefetch=3)
    assert run(jb, [[5], [4], [6], [7], []]) == [None, None, 4, 5, 6]


def test_underrun_holds_playout_point_then_goes_idle() -> None:
    jb = JitterBuffer(prefetch=2, idle_after=3)
    assert run(jb, [[1], [2], []]) == [None, 1, 2]
    assert jb.pop() is None and jb.lost  # nothing queued: conceal, but don't skip seq 3
    jb.push(pkt(3))  # arrives late but its slot was held
    assert label(jb.pop()) == 3
    for _ in range(2):
        assert jb.pop() is None and jb.lost
    assert jb.pop() is None and not jb.lost  # idle now
    assert not jb.playing
    assert run(jb, [[4], [5], []]) == [None, 4, 5]  # prefetch again after the pause


def test_frame_after_underrun_plays_at_once() -> None:
    jb = JitterBuffer(prefetch=2)
    assert run(jb, [[1], [2], [], []]) == [None, 1, 2, None]  # 3 and 4 never come
    assert jb.lost
    jb.push(pkt(5))
    assert label(jb.pop()) == 5  # not one more tick per missing frame
    assert jb.lost_frames == 2 and not jb.lost


def test_overflow_drops_oldest_to_bound_latency() -> None:
    jb = JitterBuffer(prefetch=2, depth=4)
    assert run(jb, [[1], [2]]) == [None, 1]
    for seq in range(3, 12):  # a burst of 9 frames
        jb.push(pkt(seq))
    assert label(jb.pop()) == 8  # 8..11 kept: at most `depth` frames queued
    assert jb.dropped == 6  # 2..7
    assert run(jb, [[], [], [], []]) == [9, 10, 11, None]


def test_new_ssrc_resyncs() -> None:
    jb = JitterBuffer(prefetch=2)
    assert run(jb, [[100], [101], [102]]) == [None, 100, 101]
    jb.push(pkt(7, ssrc=99))
    assert jb.resyncs == 1
    assert jb.pop() is None  # old stream's frame 102 was discarded; prefetching the new one
    jb.push(pkt(8, ssrc=99))
    assert label(jb.pop()) == 7


def test_big_sequence_jump_resyncs() -> None:
    jb = JitterBuffer(prefetch=1, depth=4)
    assert run(jb, [[10], [11]]) == [10, 11]
    jb.push(pkt(20000))
    assert jb.resyncs == 1
    assert label(jb.pop()) == 20000
    jb.push(pkt(20000 - 500))  # far behind: another restart, not a late packet
    assert jb.resyncs == 2


def test_timestamp_jump_with_continuous_seq_plays_on() -> None:
    jb = JitterBuffer(prefetch=2)
    jb.push(pkt(1, ts=160))
    jb.push(pkt(2, ts=320))
    jb.push(pkt(3, ts=320 + 8000 * 30))  # 30 s of suppressed silence
    assert [label(jb.pop()) for _ in range(3)] == [1, 2, 3]
    assert jb.resyncs == 0


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError):
        JitterBuffer(prefetch=5, depth=4)
