"""api.calls.reports: the Calls API's JSON of jobs, attempts and short reports."""

from __future__ import annotations

from api.calls.reports import attempt_json, job_json, short_report_json
from softswitch.campaigns.model import Attempt, Job, JobStatus, ShortReport


def test_job_json() -> None:
    job = Job(
        id=7,
        campaign_id="CM0123456789",
        account_id="a",
        phone="79001234567",
        payload={"name": "Ann"},
        status=JobStatus.ON_RETRY,
        next_at=1_700_000_060.0004,
        started_at=1_700_000_000.25,
        call_duration=9.6,
        result="ok",
        report_data=[("Q2", "yes", 2), ("Q1", 7, 1)],
        attempts_made=1,
    )
    row = job_json(job)
    assert list(row["reportData"].items()) == [("Q1", "7"), ("Q2", "yes")]  # script order
    assert (row["startedAt"], row["finishedAt"], row["nextCallAt"]) == (
        1_700_000_000_250,
        None,
        1_700_000_060_000,
    )
    assert (row["jobStatus"], row["callDuration"], row["attemptsCount"]) == ("onRetry", 10, 1)
    job.status = JobStatus.NO_ANSWER  # final: no next call
    assert job_json(job)["nextCallAt"] is None


def test_attempt_json_carries_its_jobs_payload_and_status() -> None:
    job = Job(id=7, campaign_id="c", account_id="a", phone="1", payload=[1, 2])
    attempt = Attempt(
        id=3,
        job_id=7,
        campaign_id="c",
        number=2,
        phone="1",
        request_id="r",
        started_at=10.0,
        answered_at=12.0,
        ended_at=20.4,
        dial_status="ANSWER",
        answered_by="machine_end_beep",
    )
    row = attempt_json(attempt, job)
    assert row["payload"] == [1, 2] and row["jobStatus"] == "planned"
    assert row["answeredBy"] == "machine_end_beep"
    assert (row["answeredAt"], row["finishedAt"], row["callDuration"]) == (12_000, 20_400, 8)


def test_short_report_json_in_minutes() -> None:
    report = ShortReport(numbers=5, processed=2, talk_seconds=125, in_process=1, on_retry=1)
    assert short_report_json(report) == {
        "totalNumbers": 5,
        "processedNumbers": 2,
        "usedTalkingTime": 2.08,
        "usedAsrSeconds": 0,
        "inProcessCalls": 1,
        "retryCalls": 1,
    }
