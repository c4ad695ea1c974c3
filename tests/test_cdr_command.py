"""softswitchd.cdr_command: what --since/--until accept."""

from __future__ import annotations

import argparse
import time

import pytest

from softswitchd.cdr_command import moment


def test_times_ago_and_dates() -> None:
    assert abs(float(moment("2h")) - (time.time() - 7200)) < 5
    assert abs(float(moment("30m")) - (time.time() - 1800)) < 5
    assert abs(float(moment("7d")) - (time.time() - 7 * 86400)) < 5
    assert float(moment("2026-12-06")) == 1796515200.0  # midnight UTC
    assert float(moment("2026-12-06T08:00:00+01:00")) == 1796515200.0 + 7 * 3600


@pytest.mark.parametrize("text", ["yesterday", "2h ago", "-1h", "2026-13-01", "5w"])
def test_anything_else_is_a_usage_error(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="give a time ago"):
        moment(text)
