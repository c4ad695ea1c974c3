import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.dtmf import DIGITS, DtmfEvent, DtmfReceiver, DtmfSender


def test_event_wire_format() -> None:
    assert DtmfEvent("5", end=False, volume=10, duration=160).to_bytes() == bytes([5, 10, 0, 160])
    assert DtmfEvent("#", end=True, volume=63, duration=800).to_bytes() == bytes([11, 0x80 | 63, 3, 32])
    assert DtmfEvent.parse(bytes([15, 0x80 | 7, 1, 0])) == DtmfEvent("D", True, 7, 256)
    assert [DtmfEvent(d).event for d in "0123456789*#ABCD"] == list(range(16))


@given(st.sampled_from(DIGITS), st.booleans(), st.integers(0, 63), st.integers(0, 65535))
def test_event_roundtrip(digit: str, end: bool, volume: int, duration: int) -> None:
    event = DtmfEvent(digit, end, volume, duration)
    assert DtmfEvent.parse(event.to_bytes()) == event


@pytest.mark.parametrize("payload", [b"", b"\x01\x02\x03", bytes([16, 0, 0, 0]), bytes([255, 0, 0, 0])])
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
        out.append(None if packet is None else (DtmfEvent.parse(packet.payload), packet.timestamp, packet.marker))
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
    assert [(e.duration, e.end, m) for e, _, m in events] == [(160, False, True), (320, True, False), (320, True, False), (320, True, False)]


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
