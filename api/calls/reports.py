"""The Calls API's report JSON: call jobs, call attempts, a campaign's short report and
its info (calls-api-*.txt). Times are epoch milliseconds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from softswitch.campaigns.model import Attempt, Campaign, Job, JobStatus, ShortReport


def ms(ts: float | None) -> int | None:
    return None if ts is None else int(round(ts * 1000))


def report_data(items: Iterable[Sequence[Any]]) -> dict[str, str]:
    """header -> value, in the script's order."""
    return {str(h): str(v) for h, v, _ in sorted(items, key=lambda x: x[2])}


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "phone": job.phone,
        "payload": job.payload,
        "jobStatus": job.status.value,
        "startedAt": ms(job.started_at),
        "finishedAt": ms(job.finished_at),
        "callDuration": int(round(job.call_duration)),
        "callResult": job.result,
        "reportData": report_data(job.report_data),
        "attemptsCount": job.attempts_made,
        "dialerPriority": job.priority,
        "nextCallAt": ms(job.next_at)
        if job.status in (JobStatus.PLANNED, JobStatus.ON_RETRY)
        else None,
    }


def attempt_json(attempt: Attempt, job: Job) -> dict[str, Any]:
    return {
        "callJobId": attempt.job_id,
        "attemptId": attempt.id,
        "attemptNumber": attempt.number,
        "phone": attempt.phone,
        "payload": job.payload,
        "startedAt": ms(attempt.started_at),
        "answeredAt": ms(attempt.answered_at),
        "finishedAt": ms(attempt.ended_at),
        "callDuration": int(round(attempt.duration)),
        "dialStatus": attempt.dial_status,
        # who answered, when the campaign detects answering machines (AnsweredBy); else ""
        "answeredBy": attempt.answered_by,
        "callResult": attempt.result,
        "reportData": report_data(attempt.report_data),
        "jobStatus": job.status.value,
    }


def short_report_json(report: ShortReport) -> dict[str, Any]:
    return {
        "totalNumbers": report.numbers,
        "processedNumbers": report.processed,
        "usedTalkingTime": round(report.talk_seconds / 60.0, 2),  # minutes
        # audio the listen steps' recognizer processed, in whole seconds (rounded up: a
        # call that was listened to never shows 0)
        "usedAsrSeconds": math.ceil(report.asr_seconds),
        "inProcessCalls": report.in_process,
        "retryCalls": report.on_retry,
    }


def info_json(campaign: Campaign, report: ShortReport) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "projectName": campaign.project_name or campaign.account_id,
        "creationDate": ms(campaign.created_at),
        "botId": campaign.bot_id,
        "status": campaign.status.value,
        "shortReport": short_report_json(report),
        "startTime": ms(campaign.start_at),
        "endTime": ms(campaign.end_at if campaign.stopped_at is None else campaign.stopped_at),
        "maxSimultaneousCalls": campaign.max_simultaneous,
    }
