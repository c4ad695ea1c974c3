"""Dial statuses from SIP final responses, and the outcome's defaults."""

from __future__ import annotations

import pytest

from softswitch.outcome import CallOutcome, DialStatus, dial_status


@pytest.mark.parametrize(
    "status, expected",
    [
        (200, DialStatus.ANSWER),
        (202, DialStatus.ANSWER),
        (486, DialStatus.BUSY),
        (600, DialStatus.BUSY),
        (603, DialStatus.BUSY),
        (408, DialStatus.NOANSWER),
        (487, DialStatus.NOANSWER),
        (404, DialStatus.CHANUNAVAIL),
        (410, DialStatus.CHANUNAVAIL),
        (480, DialStatus.CHANUNAVAIL),
        (484, DialStatus.CHANUNAVAIL),
        (604, DialStatus.CHANUNAVAIL),
        (503, DialStatus.CONGESTION),
        (500, DialStatus.CONGESTION),
        (0, DialStatus.CONGESTION),
    ],
)
def test_dial_status_of_a_final_response(status: int, expected: DialStatus) -> None:
    assert dial_status(status) is expected


def test_a_cancelled_leg_is_cancel_whatever_it_was_answered_with() -> None:
    assert dial_status(487, cancelled=True) is DialStatus.CANCEL


def test_dial_statuses_are_the_strings_cdrs_and_reports_store() -> None:
    assert [str(s) for s in DialStatus] == [
        "ANSWER",
        "BUSY",
        "NOANSWER",
        "CANCEL",
        "CHANUNAVAIL",
        "CONGESTION",
        "DND",
    ]
    assert DialStatus.BUSY == "BUSY"


def test_an_outcome_needs_only_how_the_call_went_and_when() -> None:
    outcome = CallOutcome(False, 486, DialStatus.BUSY, 10.0, 12.0)
    assert (outcome.answered_at, outcome.result, outcome.redial, outcome.cdr_id) == (
        None,
        None,
        None,
        None,
    )
    assert (
        outcome.report_data == []
        and outcome.report_data is not CallOutcome(False, 486, "BUSY", 0.0, 0.0).report_data
    )
