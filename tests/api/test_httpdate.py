"""api.httpdate: the cached formatter writes what email.utils.formatdate writes."""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest

from api.httpdate import http_date

DAY = 86400


@pytest.mark.parametrize(
    "ts",
    [
        0,
        0.999,
        1,
        DAY - 1,
        DAY - 0.001,
        DAY,
        DAY + 1,
        951_782_399,  # 2000-02-28 23:59:59, before a leap day
        951_782_400,  # 2000-02-29 00:00:00
        951_868_800,  # 2000-03-01
        1_688_710_096,  # the spec's "Fri, 07 Jul 2023 06:08:16 GMT"
        1_704_067_199,  # New Year's Eve 2023, last second
        1_704_067_200,  # 2024-01-01 00:00:00
        4_102_444_799,  # 2099-12-31 23:59:59
        -1,  # a campaign starting before 1970 reads back through here
        -0.5,
        -DAY,
        -DAY - 0.5,
        -2_208_988_800,  # 1900-01-01
    ],
)
def test_matches_formatdate_at_day_boundaries(ts: float) -> None:
    assert http_date(ts) == formatdate(ts, usegmt=True)


def test_matches_formatdate_for_many_times() -> None:
    rng = random.Random(9)
    for _ in range(20_000):
        ts = rng.uniform(-3e9, 5e9)
        assert http_date(ts) == formatdate(ts, usegmt=True), ts
    for day in range(-800, 800):  # every boundary of four years around the epoch
        for ts in (day * DAY - 1, day * DAY, day * DAY + 0.5):
            assert http_date(ts) == formatdate(ts, usegmt=True), ts


def test_none_is_the_epoch() -> None:
    assert http_date(None) == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_the_spec_example() -> None:
    assert http_date(1_688_710_096.7) == "Fri, 07 Jul 2023 06:08:16 GMT"
