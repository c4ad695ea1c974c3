"""Call jobs and their dial attempts (the dialer's queue).

The queue is the `jobs` table itself: a job is due when `queued = 1` and `next_at <= now`.
The order is dialerPriority (1 first), then numbers added with a custom calling policy
before those added without one (the Calls API gives a custom-policy number "higher
priority than other numbers"), then the oldest due time. The next-job choice runs one
index seek per (priority, custom) pair on `jobs_queue(campaign_id, queued, priority,
custom, next_at)`, so it stays constant-time however many jobs wait (a single ORDER BY
would walk every not-yet-due job of a better rank).

Crash safety: a job is claimed (status inProcess, attempt row inserted, attempt counter
incremented) in one transaction before the dial starts, and resolved in one
transaction after the call ends. A job still inProcess at start-up was caught mid-call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from softswitch.campaigns.model import QUEUED_STATUSES, Attempt, Job, JobSource, JobStatus

from .database import transaction
from .engine import Database

_JOB_COLUMNS = (
    "id",
    "campaign_id",
    "account_id",
    "phone",
    "payload",
    "status",
    "priority",
    "next_at",
    "gmt_zone",
    "policy",
    "max_attempts",
    "retry_interval",
    "attempts_made",
    "redials",
    "source",
    "list_id",
    "contact_name",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "call_duration",
    "result",
    "report_data",
    "dial_status",
)
_ATTEMPT_COLUMNS = (
    "id",
    "job_id",
    "campaign_id",
    "number",
    "phone",
    "request_id",
    "started_at",
    "answered_at",
    "ended_at",
    "dial_status",
    "sip_status",
    "result",
    "report_data",
    "answered_by",
)


# (dialerPriority, custom) in dialing order
_RANKS = tuple((priority, custom) for priority in range(1, 6) for custom in (1, 0))


@dataclass(slots=True)
class NewJob:
    campaign_id: str
    account_id: str
    phone: str
    payload: Any  # JSON; None is stored as {}
    dedup: str
    keyless: bool
    priority: int
    next_at: float
    gmt_zone: str
    policy: dict[str, Any] | str  # a str is already JSON
    max_attempts: int
    retry_interval: float
    source: JobSource
    created_at: float
    list_id: str = ""
    contact_name: str = ""
    status: JobStatus = JobStatus.PLANNED
    custom: bool = False  # added with its own calling policy: dialed first within its priority


def _job(row: Sequence[Any]) -> Job:
    d = dict(zip(_JOB_COLUMNS, row, strict=False))
    return Job(
        id=d["id"],
        campaign_id=d["campaign_id"],
        account_id=d["account_id"],
        phone=d["phone"],
        payload=_payload(d["payload"]),
        status=JobStatus(d["status"]),
        priority=d["priority"],
        next_at=d["next_at"],
        gmt_zone=d["gmt_zone"],
        policy=json.loads(d["policy"]),
        max_attempts=d["max_attempts"],
        retry_interval=d["retry_interval"],
        attempts_made=d["attempts_made"],
        redials=d["redials"],
        source=JobSource(d["source"]),
        list_id=d["list_id"],
        contact_name=d["contact_name"],
        created_at=d["created_at"],
        updated_at=d["updated_at"],
        started_at=d["started_at"],
        finished_at=d["finished_at"],
        call_duration=d["call_duration"],
        result=d["result"],
        report_data=[tuple(x) for x in json.loads(d["report_data"])],
        dial_status=d["dial_status"],
    )


def _payload(text: str) -> Any:
    payload = json.loads(text)
    return {} if payload is None else payload


def _attempt(row: Sequence[Any]) -> Attempt:
    d = dict(zip(_ATTEMPT_COLUMNS, row, strict=False))
    d["report_data"] = [tuple(x) for x in json.loads(d["report_data"])]
    return Attempt(**d)


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._select = f"SELECT {', '.join(_JOB_COLUMNS)} FROM jobs"

    # -- adding ---------------------------------------------------------------------

    def add_many(self, jobs: Sequence[NewJob]) -> list[int]:
        """Insert jobs, returning their IDs in order. Call inside `transaction(db)` when
        the IDs must not interleave with another writer's (they are max(id)+1.. here)."""
        if not jobs:
            return []
        with transaction(self.db):
            first = (self.db.execute("SELECT MAX(id) FROM jobs").fetchone()[0] or 0) + 1
            ids = list(range(first, first + len(jobs)))
            self.db.executemany(
                "INSERT INTO jobs (id, campaign_id, account_id, phone, payload, dedup, keyless,"
                " status, queued, priority, custom, next_at, gmt_zone, policy, max_attempts,"
                " retry_interval, source, list_id, contact_name, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        i,
                        j.campaign_id,
                        j.account_id,
                        j.phone,
                        json.dumps(j.payload if j.payload is not None else {}),
                        j.dedup,
                        int(j.keyless),
                        j.status.value,
                        int(j.status in QUEUED_STATUSES),
                        j.priority,
                        int(j.custom),
                        j.next_at,
                        j.gmt_zone,
                        j.policy if isinstance(j.policy, str) else json.dumps(j.policy),
                        j.max_attempts,
                        j.retry_interval,
                        j.source,
                        j.list_id,
                        j.contact_name,
                        j.created_at,
                        j.created_at,
                    )
                    for i, j in zip(ids, jobs, strict=False)
                ],
            )
        return ids

    def recent_keyless(self, campaign_id: str, dedups: Iterable[str], since: float) -> set[str]:
        """Which of these duplicate keys a keyless request added to the campaign after `since`."""
        found: set[str] = set()
        keys = list(dict.fromkeys(dedups))
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT DISTINCT dedup FROM jobs WHERE campaign_id = ? AND dedup IN ({marks})"
                " AND keyless = 1 AND created_at > ?",
                [campaign_id, *chunk, since],
            )
            found.update(row[0] for row in rows)
        return found

    # -- the queue --------------------------------------------------------------------

    def next_due(
        self, campaign_id: str, now: float, skip: Iterable[int] = (), *, lock: str = ""
    ) -> Job | None:
        """The due job of the best rank: priority (1 first), custom policy first, oldest
        due time first. `lock`: a row-locking clause (the dialer's claim passes
        " FOR UPDATE SKIP LOCKED" on PostgreSQL)."""
        skipped = list(skip)
        extra = f" AND id NOT IN ({','.join('?' * len(skipped))})" if skipped else ""
        for priority, custom in _RANKS:
            row = self.db.execute(
                f"{self._select} WHERE campaign_id = ? AND queued = 1 AND priority = ?"
                f" AND custom = ? AND next_at <= ?{extra} ORDER BY next_at, id LIMIT 1{lock}",
                [campaign_id, priority, custom, now, *skipped],
            ).fetchone()
            if row is not None:
                return _job(row)
        return None

    def next_wake(self, campaign_id: str) -> float | None:
        """The earliest due time of the campaign's queued jobs."""
        best: float | None = None
        for priority, custom in _RANKS:
            row = self.db.execute(
                "SELECT next_at FROM jobs WHERE campaign_id = ? AND queued = 1 AND priority = ?"
                " AND custom = ? ORDER BY next_at LIMIT 1",
                [campaign_id, priority, custom],
            ).fetchone()
            if row is not None and (best is None or row[0] < best):
                best = row[0]
        return best

    def reschedule(self, job_id: int, next_at: float, now: float) -> None:
        self.db.execute(
            "UPDATE jobs SET next_at = ?, updated_at = ? WHERE id = ? AND queued = 1",
            [next_at, now, job_id],
        )

    def claim(self, job_id: int, now: float, request_id: str) -> Attempt | None:
        """Take a queued job for one dial attempt; None when someone else took it."""
        # the conditional UPDATE locks the row: no need to hold every other writer off
        with self.db.transaction(serialized=False):
            claimed = self.db.execute(
                "UPDATE jobs SET status = ?, queued = 0, attempts_made = attempts_made + 1,"
                " started_at = COALESCE(started_at, ?), updated_at = ?"
                " WHERE id = ? AND queued = 1 RETURNING campaign_id, phone, attempts_made",
                [JobStatus.IN_PROCESS.value, now, now, job_id],
            ).fetchone()
            if claimed is None:
                return None
            campaign_id, phone, number = claimed
            attempt_id = self.db.execute(
                "INSERT INTO attempts (job_id, campaign_id, number, phone, request_id, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                [job_id, campaign_id, number, phone, request_id, now],
            ).scalar()
        return Attempt(
            id=attempt_id,
            job_id=job_id,
            campaign_id=campaign_id,
            number=number,
            phone=phone,
            request_id=request_id,
            started_at=now,
        )

    def settle(
        self,
        job_id: int,
        now: float,
        status: JobStatus,
        *,
        next_at: float | None = None,
        priority: int | None = None,
        dial_status: str | None = None,
    ) -> bool:
        """Give a job a status without a call (DND, invalid number, window gone)."""
        sets = ["status = ?", "queued = ?", "updated_at = ?"]
        args: list[Any] = [status.value, int(status in QUEUED_STATUSES), now]
        if next_at is not None:
            sets.append("next_at = ?")
            args.append(next_at)
        if priority is not None:
            sets.append("priority = ?")
            args.append(priority)
        if dial_status is not None:
            sets.append("dial_status = ?")
            args.append(dial_status)
        cursor = self.db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", [*args, job_id])
        return cursor.rowcount == 1

    def finish_attempt(
        self,
        attempt: Attempt,
        status: JobStatus,
        now: float,
        *,
        next_at: float | None = None,
        priority: int | None = None,
        redial: bool = False,
    ) -> None:
        """Record the attempt's outcome and move its job on, in one transaction.

        A job canceled while its call went on stays canceled (nothing more is dialed)
        but keeps what that conversation produced: result, report data, duration.
        """
        with self.db.transaction(serialized=False):  # row locks suffice
            self.db.execute(
                "UPDATE attempts SET answered_at = ?, ended_at = ?, dial_status = ?,"
                " sip_status = ?, result = ?, report_data = ?, answered_by = ? WHERE id = ?",
                [
                    attempt.answered_at,
                    attempt.ended_at,
                    attempt.dial_status,
                    attempt.sip_status,
                    attempt.result,
                    json.dumps(attempt.report_data),
                    attempt.answered_by,
                    attempt.id,
                ],
            )
            outcome: dict[str, Any] = {
                "updated_at = ?": now,
                "finished_at = ?": attempt.ended_at,
                "call_duration = call_duration + ?": attempt.duration,
                "asr_seconds = asr_seconds + ?": attempt.asr_seconds,
                "dial_status = ?": attempt.dial_status,
            }
            if attempt.result is not None:
                outcome["result = ?"] = attempt.result
            if attempt.report_data:
                outcome["report_data = ?"] = json.dumps(attempt.report_data)
            moves: dict[str, Any] = {
                "status = ?": status.value,
                "queued = ?": int(status in QUEUED_STATUSES),
            }
            if next_at is not None:
                moves["next_at = ?"] = next_at
            if priority is not None:
                moves["priority = ?"] = priority
            both = {**moves, **outcome}
            sets = ", ".join(both) + (", redials = redials + 1" if redial else "")
            cursor = self.db.execute(
                f"UPDATE jobs SET {sets} WHERE id = ? AND status = ?",
                [*both.values(), attempt.job_id, JobStatus.IN_PROCESS.value],
            )
            if cursor.rowcount == 0:
                self.db.execute(
                    f"UPDATE jobs SET {', '.join(outcome)} WHERE id = ? AND status = ?",
                    [*outcome.values(), attempt.job_id, JobStatus.CANCELED.value],
                )

    # -- reading ------------------------------------------------------------------------

    def get(self, job_id: int) -> Job | None:
        row = self.db.execute(f"{self._select} WHERE id = ?", [job_id]).fetchone()
        return _job(row) if row else None

    def select(
        self, campaign_id: str, *, ids: Iterable[int] = (), phones: Iterable[str] = ()
    ) -> list[Job]:
        """The campaign's jobs with any of these IDs or phones, by ID."""
        found: dict[int, Job] = {}
        for column, values in (
            ("id", list(dict.fromkeys(ids))),
            ("phone", list(dict.fromkeys(phones))),
        ):
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self.db.execute(
                    f"{self._select} WHERE campaign_id = ? AND {column} IN ({marks})",
                    [campaign_id, *chunk],
                )
                for row in rows:
                    job = _job(row)
                    found[job.id] = job
        return [found[i] for i in sorted(found)]

    def of_campaign(self, campaign_id: str) -> list[Job]:
        rows = self.db.execute(f"{self._select} WHERE campaign_id = ? ORDER BY id", [campaign_id])
        return [_job(row) for row in rows]

    def in_process(self) -> list[Job]:
        rows = self.db.execute(
            f"{self._select} WHERE status = ? ORDER BY id", [JobStatus.IN_PROCESS.value]
        )
        return [_job(row) for row in rows]

    def attempts(self, job_ids: Iterable[int]) -> list[Attempt]:
        ids = list(dict.fromkeys(job_ids))
        result: list[Attempt] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT {', '.join(_ATTEMPT_COLUMNS)} FROM attempts WHERE job_id IN ({marks})",
                chunk,
            )
            result.extend(_attempt(row) for row in rows)
        result.sort(key=lambda a: (a.job_id, a.number))
        return result

    def open_attempt(self, job_id: int) -> Attempt | None:
        row = self.db.execute(
            f"SELECT {', '.join(_ATTEMPT_COLUMNS)} FROM attempts WHERE job_id = ?"
            " AND ended_at IS NULL ORDER BY number DESC LIMIT 1",
            [job_id],
        ).fetchone()
        return _attempt(row) if row else None

    def status_counts(self, campaign_id: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT status, COUNT(*) FROM jobs WHERE campaign_id = ? GROUP BY status", [campaign_id]
        )
        return {status: count for status, count in rows}

    def asr_seconds(self, campaign_id: str) -> float:
        """Audio the speech recognizer processed on the campaign's calls."""
        row = self.db.execute(
            "SELECT COALESCE(SUM(asr_seconds), 0) FROM jobs WHERE campaign_id = ?", [campaign_id]
        ).fetchone()
        return float(row[0])

    def talk_seconds(self, campaign_id: str) -> float:
        row = self.db.execute(
            "SELECT COALESCE(SUM(call_duration), 0) FROM jobs WHERE campaign_id = ?", [campaign_id]
        ).fetchone()
        return float(row[0])

    # -- bulk status changes --------------------------------------------------------------

    def cancel(self, campaign_id: str, job_ids: Sequence[int], now: float) -> list[int]:
        """Cancel those not yet final; returns the IDs now canceled."""
        canceled: list[int] = []
        with transaction(self.db):
            for job_id in job_ids:
                cursor = self.db.execute(
                    "UPDATE jobs SET status = ?, queued = 0, updated_at = ?"
                    " WHERE id = ? AND campaign_id = ? AND status IN (?, ?, ?)",
                    [
                        JobStatus.CANCELED.value,
                        now,
                        job_id,
                        campaign_id,
                        JobStatus.PLANNED.value,
                        JobStatus.ON_RETRY.value,
                        JobStatus.IN_PROCESS.value,
                    ],
                )
                if cursor.rowcount:
                    canceled.append(job_id)
        return canceled

    def close_queue(self, campaign_id: str, now: float) -> int:
        """The campaign ended: never-called jobs are notDone, jobs between attempts noAnswer."""
        with transaction(self.db):
            a = self.db.execute(
                "UPDATE jobs SET status = ?, queued = 0, updated_at = ?"
                " WHERE campaign_id = ? AND queued = 1 AND status = ?",
                [JobStatus.NOT_DONE.value, now, campaign_id, JobStatus.PLANNED.value],
            ).rowcount
            b = self.db.execute(
                "UPDATE jobs SET status = ?, queued = 0, updated_at = ?"
                " WHERE campaign_id = ? AND queued = 1 AND status = ?",
                [JobStatus.NO_ANSWER.value, now, campaign_id, JobStatus.ON_RETRY.value],
            ).rowcount
        return a + b

    def count_queued(self, campaign_id: str) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM jobs WHERE campaign_id = ? AND queued = 1", [campaign_id]
        ).fetchone()
        return int(row[0])
