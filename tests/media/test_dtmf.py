import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.dtmf import COLS, DIGITS, KEYS, ROWS, DtmfEvent, DtmfReceiver, DtmfSender, tone_pair


def test_event_wire_format() -> None:
    assert DtmfEvent("5", end=False, volume=10, duration=160).to_bytes() == bytes([5, 10, 0, 160])
    assert DtmfEvent("#", end=True, volume=63, duration=800).to_bytes() == bytes(
        [11, 0x80 | 63, 3, 32]
    )
    assert DtmfEvent.parse(bytes([15, 0x80 | 7, 1, 0])) == DtmfEvent("D", True, 7, 256)
    assert [DtmfEvent(d).event for d in "0123456789*#ABCD"] == list(range(16))


@given(st.sampled_from(DIGITS), st.booleans(), st.integers(0, 63), st.integers(0, 65535))
def test_event_roundtrip(digit: str, end: bool, volume: int, duration: int) -> None:
    event = DtmfEvent(digit, end, volume, duration)
    assert DtmfEvent.parse(event.to_bytes()) == event


@pytest.mark.parametrize(
    "payload", [b"", b"\x01\x02\x03", bytes([16, 0, 0, 0]), bytes([255, 0, 0, 0])]
)
def test_parse_rejects_short_or_non_digit(payload: bytes) -> None:
    with pytest.raises(ValueError):
        DtmfEvent.parse(payload)


def test_encode_rejects_bad_fields() -> None:
    for event in (DtmfEvent("X"), DtmfEvent("1", volume=64), DtmfEvent("1", duration=70000)):
        with pytest.raises(ValueError):
            event.to_bytes()


def run_sender(sender: DtmfSender, ticks: int, ts0: int = 1000):
    out = []
    for i in range(ticks):
        packet = sender.tick(ts0 + 160 * i)
        out.append(
            None
            if packet is None
            else (DtmfEvent.parse(packet.payload), packet.timestamp, packet.marker)
        )
    return out


def test_sender_train_for_100ms() -> None:
    sender = DtmfSender()
    sender.send("7", 100)
    assert sender.active
    train = run_sender(sender, 9)
    events = [p for p in train if p is not None]
    assert len(events) == 5 + 2  # 5 ticks of tone, the end packet 3 times in all
    assert [e.duration for e, _, _ in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e, _, _ in events] == [False] * 4 + [True] * 3
    assert [m for _, _, m in events] == [True] + [False] * 6
    assert {ts for _, ts, _ in events} == {1000}
    assert {e.digit for e, _, _ in events} == {"7"}
    assert train[7:] == [None, None]
    assert not sender.active


def test_sender_short_digit_and_rounding() -> None:
    sender = DtmfSender()
    sender.send("1", 30)  # rounds up to two ticks
    events = [p for p in run_sender(sender, 6) if p]
    assert [(e.duration, e.end, m) for e, _, m in events] == [
        (160, False, True),
        (320, True, False),
        (320, True, False),
        (320, True, False),
    ]


def test_sender_queues_digits_with_new_timestamps_and_gap() -> None:
    sender = DtmfSender(gap_ticks=2)
    sender.send("1", 40)
    sender.send("2", 40)
    train = run_sender(sender, 12)
    assert train[4] is None and train[5] is None  # gap between the events
    first = [p for p in train[:4] if p]
    second = [p for p in train[6:] if p]
    assert {e.digit for e, _, _ in first} == {"1"} and {e.digit for e, _, _ in second} == {"2"}
    assert first[0][1] != second[0][1]
    assert second[0][2] is True


def test_sender_rejects_non_digit() -> None:
    with pytest.raises(ValueError):
        DtmfSender().send("E")
    with pytest.raises(ValueError):
        DtmfSender().send("12")


def test_receiver_reports_each_event_once() -> None:
    sender = DtmfSender()
    receiver = DtmfReceiver()
    for digit in "19#":
        sender.send(digit, 80)
    got = []
    for i in range(60):
        packet = sender.tick(5000 + 160 * i)
        if packet is not None:
            digit = receiver.feed(packet.payload, packet.timestamp)
            if digit:
                got.append(digit)
            assert receiver.feed(packet.payload, packet.timestamp) is None  # network duplicate
    assert got == ["1", "9", "#"]


def test_receiver_reports_when_start_packets_lost() -> None:
    receiver = DtmfReceiver()
    end = DtmfEvent("4", True, 10, 800).to_bytes()
    assert receiver.feed(end, 320) == "4"
    assert receiver.feed(end, 320) is None
    assert receiver.feed(end, 320) is None


def test_receiver_ignores_non_digit_events_and_garbage() -> None:
    receiver = DtmfReceiver()
    assert receiver.feed(bytes([16, 0, 0, 160]), 0) is None  # flash
    assert receiver.feed(b"\x01", 0) is None
    assert receiver.feed(bytes([1, 0, 0, 160]), 0) == "1"


def test_sender_clear() -> None:
    sender = DtmfSender()
    sender.send("1")
    sender.send("2")
    sender.tick(0)
    sender.clear()
    assert not sender.active and sender.tick(160) is None


def test_sender_volume_on_every_packet_and_three_identical_end_packets() -> None:
    sender = DtmfSender(volume=25)
    sender.send("#", 60)
    events = [p for p in run_sender(sender, 10) if p is not None]
    assert {e.volume for e, _, _ in events} == {25}
    ends = [(e.duration, e.end, ts, m) for e, ts, m in events if e.end]
    assert ends == [(480, True, 1000, False)] * 3
    assert [e.duration for e, _, _ in events if not e.end] == [160, 320]


def test_sender_end_repeats_configurable_and_validated() -> None:
    sender = DtmfSender(end_repeats=1)
    sender.send("2", 40)
    events = [p for p in run_sender(sender, 5) if p is not None]
    assert [e.end for e, _, _ in events] == [False, True]
    for kwargs in ({"volume": 64}, {"volume": -1}, {"end_repeats": 0}):
        with pytest.raises(ValueError):
            DtmfSender(**kwargs)


def test_sender_caps_very_long_events_to_16_bits() -> None:
    sender = DtmfSender()
    sender.send("0", 20_000)
    assert sender.event_samples == 0  # nothing on the wire before the first tick
    sender.tick(0)
    assert sender.event_samples <= 0xFFFF
    durations = [DtmfEvent.parse(p.payload).duration for p in iter(lambda: sender.tick(0), None)]
    assert max(durations) <= 0xFFFF and durations[-1] == durations[-2] == durations[-3]


def test_receiver_tracks_duration_volume_and_end() -> None:
    sender = DtmfSender(volume=13)
    receiver = DtmfReceiver()
    sender.send("6", 100)
    reported = []
    for i in range(10):
        packet = sender.tick(320 + 160 * i)
        if packet is None:
            continue
        if receiver.feed(packet.payload, packet.timestamp):
            reported.append(receiver.last.digit)
            assert receiver.last.end is False and receiver.last.duration == 160
    assert reported == ["6"]
    assert receiver.last == DtmfEvent("6", True, 13, 800)


def test_receiver_late_update_after_end_does_not_shorten_or_repeat() -> None:
    receiver = DtmfReceiver()
    assert receiver.feed(DtmfEvent("3", False, 10, 160).to_bytes(), 100) == "3"
    assert receiver.feed(DtmfEvent("3", True, 10, 480).to_bytes(), 100) is None
    assert receiver.feed(DtmfEvent("3", False, 10, 320).to_bytes(), 100) is None  # reordered
    assert receiver.last == DtmfEvent("3", True, 10, 480)


def test_receiver_same_digit_twice_and_reused_timestamp() -> None:
    receiver = DtmfReceiver()
    one = DtmfEvent("1", False, 10, 160).to_bytes()
    assert receiver.feed(one, 1000) == "1"
    assert receiver.feed(one, 2000) == "1"  # the key pressed again: a new timestamp
    # a sender that (wrongly) keeps the timestamp for the next digit still gets it through
    assert receiver.feed(DtmfEvent("2", False, 10, 160).to_bytes(), 2000) == "2"
    # a straggler of the first event arriving late is not a new press
    assert receiver.feed(DtmfEvent("1", True, 10, 800).to_bytes(), 1000) is None


def test_keypad_tone_pairs() -> None:
    assert tone_pair("1") == (697.0, 1209.0)
    assert tone_pair("0") == (941.0, 1336.0)
    assert tone_pair("#") == (941.0, 1477.0)
    assert tone_pair("d") == (941.0, 1633.0)  # letters in either case
    pairs = {digit: tone_pair(digit) for digit in DIGITS}
    assert len(set(pairs.values())) == 16  # every key its own pair
    assert {row for row, _ in pairs.values()} == set(ROWS)
    assert {col for _, col in pairs.values()} == set(COLS)
    assert sorted("".join(KEYS)) == sorted(DIGITS)
    for bad in ("E", "", "12", " "):
        with pytest.raises(ValueError, match="not a DTMF digit"):
            tone_pair(bad)


def test_sender_is_active_from_send_through_the_gap_to_the_last_end_packet() -> None:
    """`active` (read per packet by the session) is True exactly while ticks carry events
    or the silent gap between two queued digits."""
    sender = DtmfSender(gap_ticks=2)
    assert not sender.active
    sender.send("1", 40)
    sender.send("2", 40)
    flags = []
    packets = []
    for i in range(20):
        assert sender.active == (sender._digit is not None or bool(sender._queue))
        flags.append(sender.active)
        packets.append(sender.tick(160 * i))
    # 2 ticks of "1" + 2 more end packets, 2 silent gap ticks, 2 + 2 of "2", then idle
    assert [p is not None for p in packets[:12]] == [True] * 4 + [False] * 2 + [True] * 4 + [
        False
    ] * 2
    assert flags[:10] == [True] * 10 and not any(flags[10:])
    assert not sender.active
