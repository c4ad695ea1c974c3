"""softswitch.campaigns.dates: campaign dates in the campaign's zone, and back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from softswitch.campaigns.dates import local_timestamp, wall_clock
from softswitch.campaigns.errors import CampaignError
from softswitch.campaigns.zones import parse_zone


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2024-03-04 12:00:00", "UTC", utc(2024, 3, 4, 12)),
        ("2024-03-04T12:00", "UTC", utc(2024, 3, 4, 12)),  # seconds optional, T allowed
        ("2024-03-0412:00:00", "UTC", utc(2024, 3, 4, 12)),  # no separator at all
        ("  2024-03-04 12:00:00 ", "UTC", utc(2024, 3, 4, 12)),
        ("2023-09-25 09:00:00", "Asia/Kolkata", utc(2023, 9, 25, 3, 30)),
        ("2024-01-15 09:00:00", "+03:30", utc(2024, 1, 15, 5, 30)),
        ("2024-01-15 09:00:00", "GMT-5", utc(2024, 1, 15, 14)),
        # New York in winter (EST, -5) and summer (EDT, -4)
        ("2024-01-15 09:00:00", "America/New_York", utc(2024, 1, 15, 14)),
        ("2024-07-15 09:00:00", "America/New_York", utc(2024, 7, 15, 13)),
        # 2024-03-10 02:30 does not exist in New York (clocks jump 02:00 -> 03:00): read
        # with the offset before the jump, as datetime does (fold=0)
        ("2024-03-10 02:30:00", "America/New_York", utc(2024, 3, 10, 7, 30)),
        # 2024-11-03 01:30 happens twice: the first one (EDT) is meant
        ("2024-11-03 01:30:00", "America/New_York", utc(2024, 11, 3, 5, 30)),
        ("2024-03-31 02:30:00", "Europe/Berlin", utc(2024, 3, 31, 1, 30)),
    ],
)
def test_local_timestamp(text: str, zone: str, expected: float) -> None:
    assert local_timestamp(text, parse_zone(zone), "campaign_start_date") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-03-04", "must look like YYYY-mm-dd hh:mm:ss"),
        ("04/03/2024 12:00", "must look like YYYY-mm-dd hh:mm:ss"),
        ("2024-03-04 12:00:00.5", "must look like YYYY-mm-dd hh:mm:ss"),
        ("2024-02-30 12:00:00", "is not a valid date and time"),
        ("2024-03-04 24:00:00", "is not a valid date and time"),
    ],
)
def test_local_timestamp_refuses(text: str, message: str) -> None:
    with pytest.raises(CampaignError) as caught:
        local_timestamp(text, UTC, "campaign_end_date")
    assert caught.value.message == f"campaign_end_date: {text!r} {message}"
    assert caught.value.field == "campaign_end_date"


@pytest.mark.parametrize(
    "zone", ["UTC", "Asia/Kolkata", "America/New_York", "+05:45", "Australia/Lord_Howe"]
)
@pytest.mark.parametrize(
    "text", ["2024-01-15 09:00:00", "2024-07-15 20:00:00", "2024-11-03 01:30:00"]
)
def test_wall_clock_reads_back_what_was_given(zone: str, text: str) -> None:
    ts = local_timestamp(text, parse_zone(zone), "campaign_start_date")
    shown = datetime.fromtimestamp(wall_clock(ts, zone), UTC)
    assert shown.strftime("%Y-%m-%d %H:%M:%S") == text


def test_wall_clock_in_an_unknown_zone_is_utc() -> None:
    ts = utc(2024, 1, 15, 9)
    assert wall_clock(ts, "Mars/Olympus_Mons") == ts
