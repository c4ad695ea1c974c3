"""Business hours: ranges in the rules' time zone, holidays, DST edges, validation."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from softswitch.hours import BusinessHours

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def hours(zone: str = "Europe/Berlin", **extra: object) -> BusinessHours:
    data: dict[str, object] = {
        "time_zone": zone,
        "open": [{"days": WEEKDAYS, "start": "09:00", "end": "17:00"}],
    }
    return BusinessHours.model_validate(data | extra)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_open_in_local_time() -> None:
    rules = hours()
    # Wednesday 2026-01-14, Berlin is UTC+1 in winter
    assert not rules.is_open(utc(2026, 1, 14, 7, 59))  # 08:59 local
    assert rules.is_open(utc(2026, 1, 14, 8, 0))  # 09:00 local
    assert rules.is_open(utc(2026, 1, 14, 15, 59))  # 16:59 local
    assert not rules.is_open(utc(2026, 1, 14, 16, 0))  # 17:00 local: end is exclusive


def test_weekend_and_other_zone() -> None:
    assert not hours().is_open(utc(2026, 1, 17, 10, 0))  # Saturday
    new_york = hours("America/New_York")
    assert not new_york.is_open(utc(2026, 1, 14, 10, 0))  # 05:00 in New York
    assert new_york.is_open(utc(2026, 1, 14, 14, 0))  # 09:00 in New York


def test_dst_moves_the_utc_instant_not_the_local_hour() -> None:
    rules = hours()
    # summer (UTC+2): 09:00 local is 07:00 UTC
    assert rules.is_open(utc(2026, 7, 15, 7, 0))
    assert not rules.is_open(utc(2026, 7, 15, 6, 59))
    # the spring-forward Monday 2026-03-30 (changed Sunday 29th) and the Friday before
    assert rules.is_open(utc(2026, 3, 30, 7, 0))
    assert not rules.is_open(utc(2026, 3, 27, 7, 0))


def test_dst_night_range_across_the_gap() -> None:
    # open 01:00-04:00 Sundays: on 2026-03-29 02:00-03:00 does not exist in Berlin
    rules = BusinessHours.model_validate(
        {
            "time_zone": "Europe/Berlin",
            "open": [{"days": ["sun"], "start": "01:00", "end": "04:00"}],
        }
    )
    assert rules.is_open(utc(2026, 3, 29, 0, 30))  # 01:30 CET
    assert rules.is_open(utc(2026, 3, 29, 1, 30))  # 03:30 CEST (straight after the gap)
    assert not rules.is_open(utc(2026, 3, 29, 2, 0))  # 04:00 CEST


def test_holidays_close_all_day_in_local_dates() -> None:
    rules = hours(holidays=["2026-12-24"])
    assert not rules.is_open(utc(2026, 12, 24, 10, 0))
    # 23:30 UTC on the 23rd is already the 24th in Berlin, 00:30: closed either way, but
    # 08:30 UTC on the 25th (a Friday) is open
    assert rules.is_open(utc(2026, 12, 25, 8, 30))


def test_midnight_end_and_naive_means_utc() -> None:
    rules = BusinessHours.model_validate(
        {"time_zone": "UTC", "open": [{"days": ["mon"], "start": "20:00", "end": "24:00"}]}
    )
    assert rules.is_open(dt.datetime(2026, 1, 12, 23, 59))
    assert not rules.is_open(dt.datetime(2026, 1, 13, 0, 0))


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"time_zone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"open": [{"days": ["mon"], "start": "9:0", "end": "17:00"}]}, "is not HH:MM"),
        ({"open": [{"days": ["mon"], "start": "09:00", "end": "25:00"}]}, "not a time of day"),
        ({"open": [{"days": ["mon"], "start": "17:00", "end": "09:00"}]}, "is not after start"),
        ({"open": [{"days": ["funday"], "start": "09:00", "end": "17:00"}]}, "days"),
        ({"holidays": ["2026-13-01"]}, "holidays"),
        (
            {
                "open": [
                    {"days": ["mon", "tue"], "start": "09:00", "end": "13:00"},
                    {"days": ["tue"], "start": "12:00", "end": "17:00"},
                ]
            },
            "open[1] overlaps open[0] on tue",
        ),
    ],
)
def test_bad_rules_are_refused(data: dict[str, object], fragment: str) -> None:
    base: dict[str, object] = {
        "time_zone": "Europe/Berlin",
        "open": [{"days": ["mon"], "start": "09:00", "end": "17:00"}],
    }
    with pytest.raises(ValidationError) as info:
        BusinessHours.model_validate(base | data)
    assert fragment in str(info.value)


def test_adjacent_ranges_do_not_overlap() -> None:
    BusinessHours.model_validate(
        {
            "time_zone": "UTC",
            "open": [
                {"days": ["mon"], "start": "09:00", "end": "12:00"},
                {"days": ["mon"], "start": "12:00", "end": "17:00"},
            ],
        }
    )
