"""Leases on dial attempts, and each campaign's shared pace: N dialers on one store.

A dialer claims the next due job of a campaign in one transaction that also checks the
campaign-wide limits and records who is dialing:

1. the campaign's `campaign_pacing` row is locked (`FOR UPDATE` on PostgreSQL; on SQLite
   `BEGIN IMMEDIATE` already serialises every writer), so claimers of one campaign take
   turns at the few rows that hold its limits;
2. the unexpired leases of the campaign are counted against `max_simultaneous`;
3. the best due job is selected `FOR UPDATE SKIP LOCKED` (one index seek per rank, as
   `JobStore.next_due`) and screened by the caller (call window, DND, number check),
   which may settle or reschedule it in the same transaction and ask for the next;
4. a job to dial waits for the campaign's next start slot (`calls_per_minute` as a grid
   of 60/cpm seconds kept in the row, so the pace holds for the campaign, not per node);
5. the job is claimed (`JobStore.claim`: inProcess and an attempt row), a lease
   (node, expiry) is written for the attempt and the slot moves on.

The node renews its leases while the calls go on. A node that dies stops renewing; any
node then finds the jobs whose lease expired (`stale`) and takes them over one at a
time (`take_over`, the job row locked, the lease checked again), resolving them as
start-up recovery does. The node whose call ends releases its lease in the transaction
that records the outcome (`release`); if the lease was taken over meanwhile, the
outcome is dropped, so an attempt is never resolved twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

import sqlite_utils

from softswitch.campaigns.model import Attempt, Job, JobStatus

from .database import transaction
from .jobs import JobStore

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS job_leases (
        attempt_id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL,
        campaign_id TEXT NOT NULL,
        node TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS job_leases_campaign ON job_leases (campaign_id, expires_at)",
    "CREATE INDEX IF NOT EXISTS job_leases_job ON job_leases (job_id)",
    # the claim's seek: only queued jobs (the index shrinks as a campaign is dialed), and
    # `id` after next_at, so equal due times (a list queued at once) are walked in order
    # without a sort on PostgreSQL (SQLite's indexes end with the rowid anyway)
    "CREATE INDEX IF NOT EXISTS jobs_claim ON jobs (campaign_id, priority, custom, next_at, id)"
    " WHERE queued = 1",
    """CREATE TABLE IF NOT EXISTS campaign_pacing (
        campaign_id TEXT PRIMARY KEY,
        next_slot REAL NOT NULL
    )""",
)

# (dialerPriority, custom) in dialing order, as JobStore.next_due ranks them
_RANKS = tuple((priority, custom) for priority in range(1, 6) for custom in (1, 0))


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"  # `attempt` is ours to dial
    EMPTY = "empty"  # nothing due now
    FULL = "full"  # the campaign has max_simultaneous calls in progress (all nodes)
    WAIT = "wait"  # a job is due but the campaign's next start slot is `wake_at`
    MORE = "more"  # a batch of jobs was screened out: come back after yielding


@dataclass(slots=True)
class Claim:
    status: ClaimStatus
    job: Job | None = None
    attempt: Attempt | None = None
    wake_at: float | None = None


# called inside the claim's transaction with a due job: True to dial it; False when it
# settled or rescheduled the job itself (through the same connection)
Screen = Callable[[Job], bool]


def _dials(job: Job) -> bool:
    return True


def is_postgres(db: object) -> bool:
    """Row locks (FOR UPDATE, SKIP LOCKED) exist on PostgreSQL only; SQLite's writers are
    serialised by BEGIN IMMEDIATE instead."""
    return not isinstance(db, sqlite_utils.Database)


class JobLeases:
    def __init__(self, db: sqlite_utils.Database, jobs: JobStore) -> None:
        self.db = db
        self.jobs = jobs
        for statement in _SCHEMA:
            db.execute(statement)
        postgres = is_postgres(db)
        self._for_update = " FOR UPDATE" if postgres else ""
        self._skip_locked = " FOR UPDATE SKIP LOCKED" if postgres else ""

    # -- claiming ---------------------------------------------------------------------

    def claim_next(
        self,
        campaign_id: str,
        now: float,
        *,
        node: str,
        lease_seconds: float,
        max_simultaneous: int,
        interval: float,
        request_id: str,
        screen: Screen = _dials,
        batch: int = 200,
    ) -> Claim:
        """Claim the campaign's next due job for `node` within the campaign's limits."""
        with transaction(self.db):
            next_slot = self._lock_pacing(campaign_id)
            live = self.db.execute(
                "SELECT COUNT(*) FROM job_leases WHERE campaign_id = ? AND expires_at > ?",
                [campaign_id, now],
            ).fetchone()[0]
            if live >= max(1, max_simultaneous):
                return Claim(ClaimStatus.FULL)
            screened = 0
            while True:
                job = self._next_due_locked(campaign_id, now)
                if job is None:
                    return Claim(ClaimStatus.EMPTY, wake_at=self.jobs.next_wake(campaign_id))
                if not screen(job):
                    screened += 1
                    if screened >= batch:
                        return Claim(ClaimStatus.MORE, wake_at=now)
                    continue
                if interval and next_slot > now:
                    return Claim(ClaimStatus.WAIT, job=job, wake_at=next_slot)
                attempt = self.jobs.claim(job.id, now, request_id)
                if attempt is None:  # not queued any more: the row lock makes this rare
                    continue
                self.db.execute(
                    "INSERT INTO job_leases (attempt_id, job_id, campaign_id, node, expires_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [attempt.id, job.id, campaign_id, node, now + lease_seconds],
                )
                if interval:
                    # on the grid while starts keep up with it; after an idle spell it restarts
                    on_grid = next_slot if now - next_slot < interval else now
                    self.db.execute(
                        "UPDATE campaign_pacing SET next_slot = ? WHERE campaign_id = ?",
                        [on_grid + interval, campaign_id],
                    )
                job.status, job.attempts_made = JobStatus.IN_PROCESS, attempt.number
                return Claim(ClaimStatus.CLAIMED, job=job, attempt=attempt)

    def _lock_pacing(self, campaign_id: str) -> float:
        query = f"SELECT next_slot FROM campaign_pacing WHERE campaign_id = ?{self._for_update}"
        row = self.db.execute(query, [campaign_id]).fetchone()
        if row is None:
            self.db.execute(
                "INSERT INTO campaign_pacing (campaign_id, next_slot) VALUES (?, 0)"
                " ON CONFLICT (campaign_id) DO NOTHING",
                [campaign_id],
            )
            row = self.db.execute(query, [campaign_id]).fetchone()
        return float(row[0])

    def _next_due_locked(self, campaign_id: str, now: float) -> Job | None:
        for priority, custom in _RANKS:
            row = self.db.execute(
                "SELECT id FROM jobs WHERE campaign_id = ? AND queued = 1 AND priority = ?"
                " AND custom = ? AND next_at <= ? ORDER BY next_at, id LIMIT 1"
                f"{self._skip_locked}",
                [campaign_id, priority, custom, now],
            ).fetchone()
            if row is not None:
                return self.jobs.get(row[0])
        return None

    # -- while the calls go on --------------------------------------------------------

    def renew(self, node: str, attempt_ids: Iterable[int], expires_at: float) -> int:
        """Push the expiry of these leases of `node`; returns how many it still holds."""
        ids = list(attempt_ids)
        held = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            held += self.db.execute(
                f"UPDATE job_leases SET expires_at = ? WHERE node = ? AND attempt_id IN ({marks})",
                [expires_at, node, *chunk],
            ).rowcount
        return held

    def release(self, attempt_id: int, node: str) -> bool:
        """Drop `node`'s lease as its attempt is resolved (call inside that transaction).

        False when the attempt is no longer this node's to resolve: another node took the
        lease over (and resolved the attempt) after it expired. An attempt claimed without
        a lease (before leases existed) is still the caller's."""
        if self.db.execute(
            "DELETE FROM job_leases WHERE attempt_id = ? AND node = ?", [attempt_id, node]
        ).rowcount:
            return True
        if self.db.execute(
            "SELECT 1 FROM job_leases WHERE attempt_id = ?", [attempt_id]
        ).fetchone():
            return False
        row = self.db.execute("SELECT ended_at FROM attempts WHERE id = ?", [attempt_id]).fetchone()
        return row is not None and row[0] is None

    # -- recovery -----------------------------------------------------------------------

    def stale(self, now: float, node: str | None = None) -> list[int]:
        """Jobs inProcess that no live lease covers: their node died (lease expired), they
        were claimed before leases existed, or, with `node`, that node held them (a
        restarted node's own leases are known dead at once)."""
        args: list[object] = [JobStatus.IN_PROCESS.value, now]
        mine = ""
        if node is not None:
            mine = " AND l.node != ?"
            args.append(node)
        rows = self.db.execute(
            "SELECT j.id FROM jobs j WHERE j.status = ? AND NOT EXISTS (SELECT 1 FROM"
            f" job_leases l WHERE l.job_id = j.id AND l.expires_at > ?{mine}) ORDER BY j.id",
            args,
        )
        return [row[0] for row in rows]

    def take_over(self, job_id: int, now: float, node: str | None = None) -> bool:
        """Make a stale job ours to resolve (call inside the resolving transaction): the
        job row is locked, the lease checked again and dropped. False when the job was
        resolved meanwhile or its lease is alive (renewed, or not `node`'s)."""
        row = self.db.execute(
            f"SELECT id FROM jobs WHERE id = ? AND status = ?{self._for_update}",
            [job_id, JobStatus.IN_PROCESS.value],
        ).fetchone()
        if row is None:
            return False
        for holder, expires_at in self.db.execute(
            "SELECT node, expires_at FROM job_leases WHERE job_id = ?", [job_id]
        ).fetchall():
            if expires_at > now and holder != node:
                return False
        self.db.execute("DELETE FROM job_leases WHERE job_id = ?", [job_id])
        return True

    # -- reading -------------------------------------------------------------------------

    def live(self, campaign_id: str, now: float) -> int:
        """Calls in progress for the campaign on all nodes (unexpired leases)."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM job_leases WHERE campaign_id = ? AND expires_at > ?",
            [campaign_id, now],
        ).fetchone()
        return int(row[0])

    def holders(self, campaign_id: str) -> dict[str, int]:
        """Leases per node for the campaign (expired ones included)."""
        rows = self.db.execute(
            "SELECT node, COUNT(*) FROM job_leases WHERE campaign_id = ? GROUP BY node",
            [campaign_id],
        )
        return {str(node): int(count) for node, count in rows}
