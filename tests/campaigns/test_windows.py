from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softswitch.campaigns.windows import CallWindow, WindowError, parse_intervals, parse_policy
from softswitch.campaigns.zones import parse_zone

UTC = UTC
NY = ZoneInfo("America/New_York")


def iv(a: str, b: str) -> dict:
    return {"localTimeFrom": a, "localTimeTo": b}


def at(zone, *args) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_unrestricted_window_is_always_open() -> None:
    w = parse_policy()
    now = at(UTC, 2024, 3, 4, 3, 0)
    assert w.next_allowed(now) == now


def test_both_bounds_required() -> None:
    with pytest.raises(WindowError, match="localTimeTo is required"):
        parse_intervals([{"localTimeFrom": "10:00"}], "allowedTime.default")
    with pytest.raises(WindowError, match="localTimeFrom is required"):
        parse_intervals([{"localTimeTo": "10:00"}], "allowedTime.default")


def test_overlapping_intervals_refused_touching_allowed() -> None:
    with pytest.raises(WindowError, match="overlap"):
        parse_intervals([iv("10:00", "13:30"), iv("13:00", "14:30")], "allowedTime.mon")
    assert len(parse_intervals([iv("10:00", "13:30"), iv("13:30", "14:30")], "x")) == 2


def test_overnight_overlaps_the_early_part_of_the_list() -> None:
    # 20:00-03:00 covers 01:00-02:00 of the next day: same list, overlapping
    with pytest.raises(WindowError, match="overlap"):
        parse_intervals([iv("20:00", "03:00"), iv("01:00", "02:00")], "allowedTime.default")
    assert parse_intervals([iv("20:00", "03:00"), iv("03:00", "05:00")], "x")


@pytest.mark.parametrize("bad", ["10", "10:0", "25:00", "10:60", "24:00", "aa:bb", 1000])
def test_bad_times(bad) -> None:
    with pytest.raises(WindowError):
        parse_intervals([{"localTimeFrom": bad, "localTimeTo": "23:00"}], "allowedTime.default")


def test_24_00_is_an_upper_bound_and_empty_interval_refused() -> None:
    assert parse_intervals([iv("22:00", "24:00")], "x")[0].end == 24 * 60
    with pytest.raises(WindowError, match="empty"):
        parse_intervals([iv("10:00", "10:00")], "x")


def test_unknown_day_and_bad_allowed_days() -> None:
    with pytest.raises(WindowError, match="allowedTime.funday"):
        parse_policy(allowed_time={"funday": [iv("10:00", "11:00")]})
    with pytest.raises(WindowError, match=r"allowedDays\[1\]"):
        parse_policy(allowed_days=["mon", "xyz"])


def test_default_window_in_customer_zone() -> None:
    w = parse_policy(allowed_time={"default": [iv("10:00", "18:00")]}, zone=parse_zone("-05:00"))
    # 12:00 UTC = 07:00 at -05:00: opens at 10:00 local = 15:00 UTC
    assert w.next_allowed(at(UTC, 2024, 3, 4, 12)) == at(UTC, 2024, 3, 4, 15)
    assert w.allows(at(UTC, 2024, 3, 4, 16))
    # 23:30 UTC = 18:30 local: closed until tomorrow 10:00 local
    assert w.next_allowed(at(UTC, 2024, 3, 4, 23, 30)) == at(UTC, 2024, 3, 5, 15)
    # the window's end is exclusive
    assert w.next_allowed(at(UTC, 2024, 3, 4, 23)) == at(UTC, 2024, 3, 5, 15)


def test_overnight_interval_starts_on_its_day_and_ends_the_next() -> None:
    w = parse_policy(allowed_days=["fri"], allowed_time={"fri": [iv("20:00", "03:00")]})
    # Friday 2024-03-08 19:00 -> 20:00 the same day
    assert w.next_allowed(at(UTC, 2024, 3, 8, 19)) == at(UTC, 2024, 3, 8, 20)
    # Saturday 02:00 is still inside Friday's interval although Saturday is not allowed
    assert w.allows(at(UTC, 2024, 3, 9, 2))
    # Saturday 03:00: over; next Friday 20:00
    assert w.next_allowed(at(UTC, 2024, 3, 9, 3)) == at(UTC, 2024, 3, 15, 20)


def test_allowed_days_ignore_other_days_time() -> None:
    w = parse_policy(
        allowed_days=["mon", "wed"],
        allowed_time={"tue": [iv("09:00", "10:00")], "default": [iv("12:00", "13:00")]},
    )
    # Monday 2024-03-04 14:00: Tuesday's own interval is ignored -> Wednesday 12:00
    assert w.next_allowed(at(UTC, 2024, 3, 4, 14)) == at(UTC, 2024, 3, 6, 12)


def test_per_day_intervals_and_default() -> None:
    w = parse_policy(
        allowed_time={
            "mon": [iv("10:00", "11:30"), iv("13:00", "14:30")],
            "default": [iv("10:00", "18:00")],
        }
    )
    assert w.next_allowed(at(UTC, 2024, 3, 4, 11, 45)) == at(UTC, 2024, 3, 4, 13)
    assert w.next_allowed(at(UTC, 2024, 3, 4, 15)) == at(UTC, 2024, 3, 5, 10)
    assert w.allows(at(UTC, 2024, 3, 5, 17, 59))


def test_day_without_intervals_or_default_is_open_all_day() -> None:
    w = parse_policy(allowed_time={"mon": [iv("10:00", "11:00")]})
    assert w.allows(at(UTC, 2024, 3, 5, 3))  # Tuesday
    assert w.next_allowed(at(UTC, 2024, 3, 4, 3)) == at(UTC, 2024, 3, 4, 10)


def test_weekday_boundary_follows_the_customer_zone() -> None:
    # Monday 23:30 UTC is Tuesday 08:30 in Tokyo: Monday-only rule -> next Monday
    w = parse_policy(allowed_days=["mon"], zone=ZoneInfo("Asia/Tokyo"))
    nxt = w.next_allowed(at(UTC, 2024, 3, 4, 23, 30))
    assert nxt == at(ZoneInfo("Asia/Tokyo"), 2024, 3, 11, 0, 0)
    # Sunday 16:00 UTC is Monday 01:00 in Tokyo: open
    assert w.allows(at(UTC, 2024, 3, 3, 16))


def test_start_and_finish_bound_the_window() -> None:
    w = parse_policy(
        start="2024-03-05T00:00:00Z",
        finish="2024-03-06T00:00:00Z",
        allowed_time={"default": [iv("10:00", "18:00")]},
    )
    assert w.next_allowed(at(UTC, 2024, 3, 4, 12)) == at(UTC, 2024, 3, 5, 10)
    assert w.next_allowed(at(UTC, 2024, 3, 5, 19)) is None
    with pytest.raises(WindowError, match="finishDateTime"):
        parse_policy(start="2024-03-05T00:00:00Z", finish="2024-03-04T00:00:00Z")
    with pytest.raises(WindowError, match="startDateTime"):
        parse_policy(start="yesterday")


def test_local_datetime_without_offset_is_read_in_the_zone() -> None:
    w = parse_policy(start="2024-03-05T09:00:00", zone=parse_zone("+03:00"))
    assert w.start == at(UTC, 2024, 3, 5, 6)


def test_dst_spring_forward() -> None:
    # 2024-03-10: New York skips 02:00-03:00. A 09:00-17:00 window follows local time:
    w = parse_policy(allowed_time={"default": [iv("09:00", "17:00")]}, zone=NY)
    assert w.next_allowed(at(UTC, 2024, 3, 9, 22)) == at(UTC, 2024, 3, 10, 13)  # 09:00 EDT
    assert w.next_allowed(at(UTC, 2024, 3, 8, 22)) == at(UTC, 2024, 3, 9, 14)  # 09:00 EST
    # a window starting in the gap opens when the clock jumps (02:30 -> 03:30 EDT, as java.time)
    g = parse_policy(allowed_time={"default": [iv("02:30", "04:00")]}, zone=NY)
    assert g.next_allowed(at(UTC, 2024, 3, 10, 5)) == at(NY, 2024, 3, 10, 3, 30)


def test_dst_fall_back() -> None:
    # 2024-11-03: New York repeats 01:00-02:00. 01:30 is taken at its first occurrence.
    w = parse_policy(allowed_time={"default": [iv("01:30", "06:00")]}, zone=NY)
    opening = w.next_allowed(at(UTC, 2024, 11, 3, 4))
    assert opening == at(UTC, 2024, 11, 3, 5, 30)  # 01:30 EDT
    # the window lasts 5.5 h of wall time but 5.5 h + 1 h of real time this night
    assert w.open_until(opening) == at(UTC, 2024, 11, 3, 11)  # 06:00 EST


def test_overnight_across_dst_change() -> None:
    w = parse_policy(allowed_time={"default": [iv("22:00", "06:00")]}, zone=NY)
    start = w.next_allowed(at(UTC, 2024, 3, 9, 12))
    assert start == at(NY, 2024, 3, 9, 22, 0)
    assert w.open_until(start) == at(NY, 2024, 3, 10, 6, 0)
    assert (w.open_until(start) - start) == timedelta(hours=7)  # one hour was skipped


def test_json_round_trip() -> None:
    w = parse_policy(
        start="2024-03-05T00:00:00Z",
        allowed_days=["mon", "fri"],
        allowed_time={"fri": [iv("20:00", "03:00")], "default": [iv("10:00", "18:00")]},
        zone=NY,
    )
    again = CallWindow.from_json(w.to_json(), NY)
    assert again.to_json() == w.to_json()
    assert again.start == w.start and again.allowed_days == w.allowed_days


@settings(max_examples=200, deadline=None)
@given(
    minute=st.integers(0, 60 * 24 * 21),
    zone=st.sampled_from(
        [
            "UTC",
            "America/New_York",
            "Europe/London",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
            "America/Santiago",
            "-03:30",
        ]
    ),
    start_h=st.integers(0, 23),
    end_h=st.integers(0, 23),
    days=st.sets(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1),
)
def test_next_allowed_is_allowed_and_nothing_earlier_is(minute, zone, start_h, end_h, days) -> None:
    if start_h == end_h:
        end_h = (end_h + 1) % 24
    tz = parse_zone(zone)
    w = parse_policy(
        allowed_days=sorted(days),
        allowed_time={"default": [iv(f"{start_h:02d}:00", f"{end_h:02d}:00")]},
        zone=tz,
    )
    base = at(UTC, 2024, 2, 26) + timedelta(minutes=minute)
    nxt = w.next_allowed(base)
    assert nxt is not None and nxt >= base
    assert w.allows(nxt)
    # sample earlier instants at 15-minute steps: all closed
    probe = base
    while probe < nxt:
        assert not w.allows(probe)
        probe += timedelta(minutes=15)
    if nxt != base:
        # an opening is the rule's start in wall time (an hour later out of a DST gap),
        # on an allowed weekday
        local = nxt.astimezone(tz)
        assert local.minute == 0 and local.hour in (start_h, (start_h + 1) % 24)
        day = local.date() if local.hour >= start_h else local.date() - timedelta(days=1)
        assert ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][day.weekday()] in days


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 23),
            st.sampled_from([0, 30]),
            st.integers(0, 23),
            st.sampled_from([0, 30]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_overlap_rule_matches_minute_coverage(raw) -> None:
    """Refused exactly when the list, applied on consecutive days, covers a minute twice."""
    items = [iv(f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}") for h1, m1, h2, m2 in raw]
    spans = [(h1 * 60 + m1, h2 * 60 + m2) for h1, m1, h2, m2 in raw]
    if any(a == b for a, b in spans):
        with pytest.raises(WindowError, match="empty"):
            parse_intervals(items, "x")
        return
    covered = [0] * (4 * 1440)
    for day in range(3):
        for a, b in spans:
            end = b if b > a else b + 1440
            for minute in range(day * 1440 + a, day * 1440 + end):
                covered[minute] += 1
    overlapping = max(covered) > 1
    if overlapping:
        with pytest.raises(WindowError, match="overlap"):
            parse_intervals(items, "x")
    else:
        assert len(parse_intervals(items, "x")) == len(items)
