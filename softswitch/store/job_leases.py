"""Leases on dial attempts, and each campaign's shared pace: N dialers on one store.

A dialer claims the next due job of a campaign in one transaction that also checks the
campaign-wide limits and records who is dialing:

1. the campaign's `campaign_pacing` row is read (before the transaction): its next start
   slot and the leases its calls hold on all nodes (`live`), for a quick FULL or WAIT;
2. the best due job is selected `FOR UPDATE SKIP LOCKED` on PostgreSQL (one index seek
   per rank over `jobs_claim`; claimers on other nodes skip it rather than wait) and
   screened by the caller (call window, DND, number check), which may settle or
   reschedule it in the same transaction and ask for the next;
3. the job is claimed (`JobStore.claim`: inProcess and an attempt row) and a lease
   (node, expiry) written for the attempt;
4. last, one conditional UPDATE of the pacing row counts the lease (`live <
   max_simultaneous`) and takes the start slot (`next_slot <= now`; calls_per_minute as a
   grid of 60/cpm seconds), so the limits hold for the campaign, not per node. The row
   is locked from that statement to the commit only, and PostgreSQL re-checks the
   conditions on the row a concurrent claim left. If another node got there first, the
   claim is rolled back (the job stays queued; jobs it screened are screened again).

On SQLite, BEGIN IMMEDIATE serialises the writers, which gives the same results. `live`
goes down in the transaction that drops a lease (an outcome recorded, or a lease taken
over), so it counts the leases held, expired ones too until some node takes them over.

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

from softswitch.campaigns.model import Attempt, Job, JobStatus

from .engine import Database, Dialect
from .jobs import JobStore


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


class _Refused(Exception):
    """The claim's last check failed: roll the claim back."""

    def __init__(self, job: Job) -> None:
        self.job = job


class JobLeases:
    def __init__(self, db: Database, jobs: JobStore) -> None:
        self.db = db
        self.jobs = jobs
        # row locks on PostgreSQL; SQLite's writers take turns (BEGIN IMMEDIATE) instead
        postgres = db.dialect is Dialect.POSTGRESQL
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
        cap = max(1, max_simultaneous)
        # read before the transaction (committed at once if it creates the row, so no
        # claimer waits on another's new row); the claim's last statement checks again
        next_slot, live = self._pacing(campaign_id)
        if live >= cap:
            return Claim(ClaimStatus.FULL)
        try:
            return self._claim_next(
                campaign_id,
                now,
                node,
                lease_seconds,
                next_slot,
                cap,
                interval,
                request_id,
                screen,
                batch,
            )
        except _Refused as refused:
            # another node took the last line or this slot since the first read: nothing
            # of this claim was written (the jobs screened are screened again next time)
            next_slot, live = self._pacing(campaign_id)
            if live >= cap:
                return Claim(ClaimStatus.FULL)
            return Claim(ClaimStatus.WAIT, job=refused.job, wake_at=max(next_slot, now))

    def _claim_next(
        self,
        campaign_id: str,
        now: float,
        node: str,
        lease_seconds: float,
        next_slot: float,
        cap: int,
        interval: float,
        request_id: str,
        screen: Screen,
        batch: int,
    ) -> Claim:
        with self.db.transaction(serialized=False):
            screened = 0
            while True:
                job = self.jobs.next_due(campaign_id, now, lock=self._skip_locked)
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
                if not self._take_slot(campaign_id, now, cap, interval):
                    raise _Refused(job)  # the whole claim rolls back
                job.status, job.attempts_made = JobStatus.IN_PROCESS, attempt.number
                return Claim(ClaimStatus.CLAIMED, job=job, attempt=attempt)

    def _pacing(self, campaign_id: str) -> tuple[float, int]:
        """The campaign's next start slot and leases held (read without a lock: the
        claim's last statement checks both again under the row's lock)."""
        query = "SELECT next_slot, live FROM campaign_pacing WHERE campaign_id = ?"
        row = self.db.execute(query, [campaign_id]).fetchone()
        if row is None:
            self.db.execute(
                "INSERT INTO campaign_pacing (campaign_id, next_slot, live) VALUES (?, 0, 0)"
                " ON CONFLICT (campaign_id) DO NOTHING",
                [campaign_id],
            )
            row = self.db.execute(query, [campaign_id]).fetchone()
        return float(row[0]), int(row[1])

    def _take_slot(self, campaign_id: str, now: float, cap: int, interval: float) -> bool:
        """Count the new lease and take the campaign's start slot, if both are still free.

        One conditional UPDATE, the claim's last statement: the pacing row is locked
        from here to the commit only, and PostgreSQL checks the conditions again on the
        row as the claim it waited for left it. The grid: the next slot follows the one
        just taken while starts keep up with it; after an idle spell it restarts now."""
        return (
            self.db.execute(
                "UPDATE campaign_pacing SET live = live + 1, next_slot = CASE"
                " WHEN ? = 0 THEN next_slot"
                " WHEN ? - next_slot < ? THEN next_slot + ? ELSE ? END"
                " WHERE campaign_id = ? AND live < ? AND next_slot <= ?",
                [interval, now, interval, interval, now + interval, campaign_id, cap, now],
            ).rowcount
            == 1
        )

    def _count_released(self, campaign_id: str, leases: int) -> None:
        """`leases` of the campaign's leases are gone (the claim's count, undone)."""
        self.db.execute(
            "UPDATE campaign_pacing SET live = CASE WHEN live > ? THEN live - ? ELSE 0 END"
            " WHERE campaign_id = ?",
            [leases, leases, campaign_id],
        )

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
        if self._for_update:  # the job row first, as take_over locks it: no deadlock
            self.db.execute(
                "SELECT id FROM jobs WHERE id = (SELECT job_id FROM attempts WHERE id = ?)"
                f"{self._for_update}",
                [attempt_id],
            )
        gone = self.db.execute(
            "DELETE FROM job_leases WHERE attempt_id = ? AND node = ? RETURNING campaign_id",
            [attempt_id, node],
        ).fetchone()
        if gone is not None:
            self._count_released(gone[0], 1)
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
        gone = self.db.execute(
            "DELETE FROM job_leases WHERE job_id = ? RETURNING campaign_id", [job_id]
        ).fetchall()
        if gone:
            self._count_released(gone[0][0], len(gone))
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
