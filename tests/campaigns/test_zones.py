import contextlib
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from softswitch.campaigns.zones import (
    ZoneError,
    parse_zone,
    plausible_number,
    zone_for_number,
    zone_name_for_number,
)


def offset(tz) -> timedelta:
    return tz.utcoffset(datetime(2024, 1, 1))


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("Z", 0),
        ("+5", 5 * 3600),
        ("-5", -5 * 3600),
        ("+05", 5 * 3600),
        ("-0530", -(5 * 3600 + 1800)),
        ("+053015", 5 * 3600 + 1800 + 15),
        ("+05:30", 5 * 3600 + 1800),
        ("-05:00", -5 * 3600),
        ("+05:30:15", 5 * 3600 + 1800 + 15),
        ("UTC", 0),
        ("GMT", 0),
        ("UT", 0),
        ("UTC+3", 3 * 3600),
        ("GMT-05:00", -5 * 3600),
        ("UT+0130", 5400),
        ("UTC-18", -18 * 3600),
        ("+18:00", 18 * 3600),
        ("+00:00", 0),
        ("-00", 0),
    ],
)
def test_offsets(text: str, seconds: int) -> None:
    assert offset(parse_zone(text)) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " +05",
        "+5:30",
        "+123",
        "+05:3",
        "05:00",
        "+0530:00",
        "+05:30:1",
        "+19",
        "-18:00:01",
        "+05:60",
        "+05:00:60",
        "UTC+",
        "GMT5",
        "Moon/Base",
        "../etc/passwd",
        "/etc/localtime",
        "UTC+05:30x",
        "z",
        "+05:3015",
        "+0530:15",
    ],
)
def test_rejected(text: str) -> None:
    with pytest.raises(ZoneError):
        parse_zone(text)


def test_iana_ids_keep_daylight_saving() -> None:
    ny = parse_zone("America/New_York")
    assert isinstance(ny, ZoneInfo)
    assert ny.utcoffset(datetime(2024, 1, 15)) == timedelta(hours=-5)
    assert ny.utcoffset(datetime(2024, 7, 15)) == timedelta(hours=-4)
    assert parse_zone("Asia/Kolkata").utcoffset(datetime(2024, 1, 1)) == timedelta(
        hours=5, minutes=30
    )
    assert parse_zone("Etc/GMT+5").utcoffset(datetime(2024, 1, 1)) == timedelta(hours=-5)


@given(
    sign=st.sampled_from("+-"),
    h=st.integers(0, 18),
    m=st.integers(0, 59),
    s=st.integers(0, 59),
    prefix=st.sampled_from(["", "UTC", "GMT", "UT"]),
    form=st.sampled_from(["hh", "hhmm", "hhmmss", "hh:mm", "hh:mm:ss"]),
)
def test_offset_grammar_round_trip(sign, h, m, s, prefix, form) -> None:
    if form == "hh":
        m = s = 0
    elif form in ("hhmm", "hh:mm"):
        s = 0
    sep = ":" if ":" in form else ""
    parts = (
        [f"{h:02d}"]
        + ([f"{m:02d}"] if "mm" in form else [])
        + ([f"{s:02d}"] if "ss" in form else [])
    )
    text = prefix + sign + sep.join(parts)
    total = h * 3600 + m * 60 + s
    if total > 18 * 3600:
        with pytest.raises(ZoneError):
            parse_zone(text)
        return
    expected = total * (-1 if sign == "-" else 1)
    assert offset(parse_zone(text)) == timedelta(seconds=expected)


@given(st.text(max_size=12))
def test_random_text_parses_or_raises_zone_error(text: str) -> None:
    with contextlib.suppress(ZoneError):
        parse_zone(text)


def test_zone_inferred_from_the_number() -> None:
    assert zone_name_for_number("12125551234") == "America/New_York"
    assert zone_name_for_number("+16502530000") == "America/Los_Angeles"
    assert zone_name_for_number("919979270000") in ("Asia/Calcutta", "Asia/Kolkata")
    # a Russian mobile spans eleven zones: no guess, the campaign's zone applies
    assert zone_name_for_number("79123456789") is None
    fallback = timezone(timedelta(hours=3))
    assert zone_for_number("79123456789", fallback) is fallback
    assert zone_for_number("9991112223330", fallback) is fallback


def test_plausible_numbers() -> None:
    assert plausible_number("12125551234")
    assert plausible_number("+4930123456")
    assert not plausible_number("9991112223330")  # no such country code
    assert plausible_number("1212555")  # 7 digits: too short to check
    assert plausible_number("101")  # an extension is not checked
    assert not plausible_number("12x45")
