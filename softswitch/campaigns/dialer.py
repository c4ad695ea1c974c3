"""The campaign dialer: which job to dial next, when, and what its call did to it.

One scheduling pass (`run_once`) walks the running campaigns; for each it starts calls
while the campaign is under its `max_simultaneous` cap (and the dialer under
`max_calls`), its `calls_per_minute` pace allows a start, and a job is due. Due means
queued (planned or onRetry), `next_at` passed, and inside the job's call window (the
window is checked again at that moment: a job due at 17:59 that waited for a free line
until 18:01 is moved to the window's next opening instead). Priority 1 goes before 5.

Pacing keeps dial starts on a grid of 60/calls_per_minute seconds: a start that comes
late (the loop woke a little after its slot) does not push later starts back, so over
ten minutes the rate stays on target; after an idle spell the grid restarts.

Several dialers (one per switch node) may share one store and dial the same campaigns:
the claim (`store/job_leases.py`) picks the job, checks `max_simultaneous` against the
calls in progress on every node and takes the campaign's next start slot, in one
transaction, and records a lease (this node, an expiry) on the attempt. The dialer
renews its leases every third of `lease_seconds` while its calls go on.

Crash safety: a job is claimed in the store (inProcess + an attempt row + its lease, one
transaction) before `place_call` runs, and resolved in one transaction (the lease
released) when it returns. `start()` resolves the jobs this node left inProcess (its
node id's leases: the previous process is gone); every node resolves, as it renews,
jobs whose lease expired (their node died or stopped renewing). Each attempt is closed
as INTERRUPTED (or with the outcome `recover_outcome` finds, e.g. from the CDR), then
the job is retried if attempts remain or ends noAnswer. Nothing is lost and no attempt
is dialed twice: a taken-over attempt's late outcome is dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from softswitch.outcome import CallOutcome, DialStatus
from softswitch.store.job_leases import ClaimStatus, JobLeases

from .clock import Clock
from .manager import CampaignManager
from .model import (
    MAX_REDIALS,
    NONEXISTENT_SIP_STATUSES,
    Attempt,
    Campaign,
    CampaignStatus,
    Job,
    JobStatus,
    RetryStatus,
    new_request_id,
    normalize_priority,
)
from .phones import job_window
from .zones import UTC, plausible_number

if TYPE_CHECKING:
    from softswitch.store.cdrs import CdrStore

log = logging.getLogger("softswitch.dialer")

INTERRUPTED = "INTERRUPTED"  # an attempt whose process died during the call
ERROR = "ERROR"  # the call could not be placed at all (bad prompt, missing file)
# how many out-of-window jobs one pass reschedules before yielding to the loop
_RESCHEDULE_BATCH = 200
LOCAL_NODE = "local"  # the node id of a dialer alone on its store
_WINDOW_SLACK = 0.001  # seconds: a window opening this close to now is now


@dataclass(slots=True)
class DialRequest:
    campaign: Campaign
    job: Job
    attempt: Attempt
    variables: dict[str, str]

    @property
    def number(self) -> str:
        return self.job.phone

    @property
    def account_id(self) -> str:
        return self.campaign.account_id

    @property
    def caller_id(self) -> str:
        return self.campaign.caller_id

    @property
    def request_id(self) -> str:
        return self.attempt.request_id

    @property
    def context(self) -> str:
        return self.campaign.context

    @property
    def list_id(self) -> str:
        return self.job.list_id or self.campaign.list_id


PlaceCall = Callable[[DialRequest], Awaitable[CallOutcome]]
RecoverOutcome = Callable[[Job, Attempt], CallOutcome | None]


def variables_of(job: Job) -> dict[str, str]:
    """Payload fields as flow template variables (nested values as JSON); a payload that
    is not an object is there as `{payload}`."""
    if isinstance(job.payload, dict):
        values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in job.payload.items()}
    else:
        payload = job.payload
        values = {"payload": payload if isinstance(payload, str) else json.dumps(payload)}
    values.setdefault("phone", job.phone)
    if job.contact_name:
        values.setdefault("contact_name", job.contact_name)
    return values


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Dialer:
    def __init__(
        self,
        manager: CampaignManager,
        place_call: PlaceCall,
        *,
        max_calls: int | None = None,
        number_check: Callable[[str], bool] = plausible_number,
        cdrs: CdrStore | None = None,
        recover_outcome: RecoverOutcome | None = None,
        poll_interval: float = 30.0,
        node_id: str = LOCAL_NODE,
        lease_seconds: float = 30.0,
    ) -> None:
        self.manager = manager
        self.clock: Clock = manager.clock
        self.place_call = place_call
        self.max_calls = max_calls
        self.number_check = number_check
        self.cdrs = cdrs
        self.recover_outcome = recover_outcome
        self.poll_interval = poll_interval
        self.node_id = node_id
        self.lease_seconds = lease_seconds
        self.leases = JobLeases(manager.db, manager.jobs)
        self._live: dict[str, int] = {}
        self._leased: set[int] = set()  # attempt ids this node dials (and renews)
        self._next_renewal = 0.0
        self._calls: set[asyncio.Task[None]] = set()
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.dial_starts: list[tuple[float, str, int]] = []  # (time, campaign, job): pacing checks
        self.record_starts = False
        # calls started per campaign since this process started (the metrics' dial rate)
        self.started: dict[str, int] = {}
        manager.listeners.append(self.wake)

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Resolve what a previous process of this node left mid-call (and any lease
        expired on another node), then run the scheduling loop."""
        self.recover(mine_too=True)
        self._next_renewal = self.clock.now() + self.lease_seconds / 3
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="dialer")

    async def stop(self, grace: float = 5.0) -> None:
        """Start no more calls; give live ones `grace` seconds, then cancel them (their
        jobs stay inProcess and the next start() resolves them)."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            await self._task
            self._task = None
        if self._calls:
            await asyncio.wait(list(self._calls), timeout=grace)
        for task in list(self._calls):
            task.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)

    def wake(self) -> None:
        self._kick.set()

    def live(self, campaign_id: str | None = None) -> int:
        if campaign_id is None:
            return sum(self._live.values())
        return self._live.get(campaign_id, 0)

    async def _run(self) -> None:
        while not self._stopping:
            self._kick.clear()
            now = self.clock.now()
            try:
                wake_at = self.run_once()
            except Exception:
                log.exception("dialer pass failed")
                wake_at = now + 1.0
            if self._stopping:
                break
            delay = (
                self.poll_interval
                if wake_at is None
                else min(max(0.0, wake_at - now), self.poll_interval)
            )
            await self._wait(delay)

    async def _wait(self, delay: float) -> None:
        if self._kick.is_set():
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(delay))
        kicked = asyncio.ensure_future(self._kick.wait())
        try:
            await asyncio.wait({sleeper, kicked}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            kicked.cancel()

    # -- scheduling -----------------------------------------------------------------------

    def run_once(self) -> float | None:
        """One pass over the campaigns; returns when the next pass is worth running."""
        now = self.clock.now()
        store = self.manager.campaigns
        if now >= self._next_renewal:
            self.maintain_leases(now)
        # renewals are due while this node dials; others' expired leases are looked for
        # then too, or at the next poll
        wakes: list[float] = [self._next_renewal] if self._leased else []
        for campaign in store.with_status(
            CampaignStatus.PLANNED, CampaignStatus.IN_PROCESS, CampaignStatus.PAUSED
        ):
            if self.manager.finish_if_over(campaign, now):
                continue
            if campaign.end_at is not None:
                wakes.append(campaign.end_at)
            if campaign.status is CampaignStatus.PLANNED:
                if campaign.start_at is None or campaign.start_at > now:
                    if campaign.start_at is not None:
                        wakes.append(campaign.start_at)
                    continue
                store.set_status(
                    campaign.id, CampaignStatus.IN_PROCESS, expect=(CampaignStatus.PLANNED,)
                )
                campaign.status = CampaignStatus.IN_PROCESS
            if campaign.status is CampaignStatus.PAUSED:
                continue
            wake = self._dispatch(campaign, now)
            if wake is not None:
                wakes.append(wake)
        return min(wakes) if wakes else None

    def _dispatch(self, campaign: Campaign, now: float) -> float | None:
        interval = 60.0 / campaign.calls_per_minute if campaign.calls_per_minute > 0 else 0.0

        def screen(job: Job) -> bool:
            return self._screen(campaign, job, now)

        while True:
            if self.live(campaign.id) >= max(1, campaign.max_simultaneous) or (
                self.max_calls is not None and self.live() >= self.max_calls
            ):
                return None  # a call ending wakes the loop
            claim = self.leases.claim_next(
                campaign.id,
                now,
                node=self.node_id,
                lease_seconds=self.lease_seconds,
                max_simultaneous=campaign.max_simultaneous,
                interval=interval,
                request_id=new_request_id(),
                screen=screen,
                batch=_RESCHEDULE_BATCH,
            )
            if claim.status is ClaimStatus.FULL:
                # the other nodes' calls hold the cap: their ends do not wake this loop
                return now + min(1.0, self.lease_seconds / 3)
            if claim.status is not ClaimStatus.CLAIMED:
                return claim.wake_at  # EMPTY: next due job; WAIT: the slot; MORE: at once
            job, attempt = claim.job, claim.attempt
            assert job is not None and attempt is not None
            self._job_changed(campaign, job, JobStatus.IN_PROCESS, attempt.request_id)
            self._start_call(campaign, job, attempt)

    def _screen(self, campaign: Campaign, job: Job, now: float) -> bool:
        """Inside the claim's transaction: may this due job be dialed now? Otherwise it is
        settled (window gone, DND, invalid number) or moved to its window's opening."""
        jobs = self.manager.jobs
        window = job_window(campaign, job.phone, job.gmt_zone, job.policy)
        opening = window.next_allowed(_dt(now))
        if opening is None:
            status = JobStatus.NOT_DONE if job.attempts_made == 0 else JobStatus.NO_ANSWER
            jobs.settle(job.id, now, status)
            self._job_changed(campaign, job, status)
            return False
        # datetimes hold microseconds: an opening "now" may come back a fraction of a
        # microsecond later than `now`, and moving the job by that would skip it (and,
        # for a `now` that rounds up, every due job of the pass)
        if opening.timestamp() - now > _WINDOW_SLACK:
            jobs.reschedule(job.id, opening.timestamp(), now)
            return False
        if self.manager.is_dnd(campaign, job.phone):
            jobs.settle(job.id, now, JobStatus.NOT_DONE, dial_status=DialStatus.DND)
            self._job_changed(campaign, job, JobStatus.NOT_DONE)
            self._write_dnd_cdr(campaign, job, now)
            return False
        if not self.number_check(job.phone):
            jobs.settle(job.id, now, JobStatus.NONEXISTENT_NUMBER)
            self._job_changed(campaign, job, JobStatus.NONEXISTENT_NUMBER)
            return False
        # DND and invalid numbers above cost no dial slot; a real dial waits for its own
        return True

    def _start_call(self, campaign: Campaign, job: Job, attempt: Attempt) -> None:
        self._live[campaign.id] = self._live.get(campaign.id, 0) + 1
        self._leased.add(attempt.id)
        self.started[campaign.id] = self.started.get(campaign.id, 0) + 1
        if self.record_starts:
            self.dial_starts.append((attempt.started_at, campaign.id, job.id))
        task = asyncio.ensure_future(self._call(campaign, job, attempt))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self, campaign: Campaign, job: Job, attempt: Attempt) -> None:
        try:
            request = DialRequest(campaign, job, attempt, variables_of(job))
            try:
                outcome = await self.place_call(request)
            except asyncio.CancelledError:
                raise  # shutting down: the job stays inProcess for recover()
            except Exception as exc:
                now = self.clock.now()
                status = getattr(exc, "status", 0)
                if isinstance(status, int) and status >= 300:
                    outcome = CallOutcome(
                        False, status, DialStatus.CHANUNAVAIL, attempt.started_at, now
                    )
                else:
                    log.warning("campaign %s job %s: call not placed: %s", campaign.id, job.id, exc)
                    outcome = CallOutcome(False, 0, ERROR, attempt.started_at, now)
            self.resolve(campaign, job, attempt, outcome)
        finally:
            self._live[campaign.id] -= 1
            self._leased.discard(attempt.id)
            self.wake()

    # -- outcomes -------------------------------------------------------------------------

    def resolve(
        self, campaign: Campaign, job: Job, attempt: Attempt, outcome: CallOutcome
    ) -> JobStatus | None:
        """Record the attempt, move the job to its next status and drop this node's lease
        (one transaction). None when another node took the lease over (this node had
        stopped renewing it): that node has resolved the attempt already."""
        with self.manager.db.transaction(serialized=False):
            if not self.leases.release(attempt.id, self.node_id):
                log.warning(
                    "campaign %s job %s: attempt %d was taken over by another node;"
                    " its outcome %s is dropped",
                    campaign.id,
                    job.id,
                    attempt.number,
                    outcome.dial_status,
                )
                return None
            status = self._resolve(campaign, job, attempt, outcome)
            self._job_changed(campaign, job, status, attempt.request_id)
        return status

    def _job_changed(
        self, campaign: Campaign, job: Job, status: JobStatus, request_id: str = ""
    ) -> None:
        """Tell the campaign's webhooks, right after the store has the job's status."""
        self.manager.events.job_status(
            campaign.account_id, campaign.id, job.id, job.phone, status.value, request_id
        )

    def _resolve(
        self, campaign: Campaign, job: Job, attempt: Attempt, outcome: CallOutcome
    ) -> JobStatus:
        now = self.clock.now()
        attempt.answered_at = outcome.answered_at if outcome.answered else None
        attempt.ended_at = outcome.ended_at
        attempt.dial_status = outcome.dial_status
        attempt.sip_status = outcome.sip_status
        attempt.result = outcome.result
        attempt.report_data = [tuple(x) for x in outcome.report_data]  # type: ignore[misc]
        attempt.answered_by = outcome.answered_by

        attempt.asr_seconds = outcome.asr_seconds
        fresh = self.manager.campaigns.get(campaign.id) or campaign
        active = fresh.status in (
            CampaignStatus.PLANNED,
            CampaignStatus.IN_PROCESS,
            CampaignStatus.PAUSED,
        )
        window = job_window(fresh, job.phone, job.gmt_zone, job.policy)

        def later(seconds: float) -> float | None:
            at = window.next_allowed(_dt(now + seconds))
            return at.timestamp() if at is not None else None

        jobs = self.manager.jobs
        if (
            outcome.answered
            and outcome.machine
            and RetryStatus.MACHINE in fresh.retry_on
            and active
            and attempt.number < job.max_attempts
        ):
            # a machine took the call and the campaign retries those: like a no-answer
            at = later(job.retry_interval)
            if at is not None:
                jobs.finish_attempt(attempt, JobStatus.ON_RETRY, now, next_at=at)
                return JobStatus.ON_RETRY
        if outcome.answered:
            if outcome.redial is not None and active and job.redials < MAX_REDIALS:
                minutes, priority = outcome.redial
                at = later(minutes * 60.0)
                if at is not None:
                    jobs.finish_attempt(
                        attempt,
                        JobStatus.ON_RETRY,
                        now,
                        next_at=at,
                        redial=True,
                        priority=None if priority is None else normalize_priority(priority),
                    )
                    return JobStatus.ON_RETRY
            status = (
                JobStatus.LONG_CALL_WITH_RESULT
                if outcome.result
                else JobStatus.LONG_CALL_WITH_NO_RESULT
            )
        elif outcome.sip_status in NONEXISTENT_SIP_STATUSES:
            status = JobStatus.NONEXISTENT_NUMBER
        elif outcome.dial_status == ERROR:
            status = JobStatus.NOT_DONE
        else:
            retryable = outcome.dial_status in fresh.retry_on or outcome.dial_status == INTERRUPTED
            if retryable and active and attempt.number < job.max_attempts:
                at = later(job.retry_interval)
                if at is not None:
                    jobs.finish_attempt(attempt, JobStatus.ON_RETRY, now, next_at=at)
                    return JobStatus.ON_RETRY
            status = JobStatus.NO_ANSWER
        jobs.finish_attempt(attempt, status, now)
        return status

    def maintain_leases(self, now: float) -> None:
        """Renew this node's leases, then resolve jobs whose lease expired elsewhere."""
        self._next_renewal = now + self.lease_seconds / 3
        if self._leased:
            held = self.leases.renew(self.node_id, self._leased, now + self.lease_seconds)
            if held < len(self._leased):
                log.warning(
                    "dialer: %d of %d leases were taken over by other nodes",
                    len(self._leased) - held,
                    len(self._leased),
                )
        self.recover()

    def recover(self, *, mine_too: bool = False) -> int:
        """Resolve jobs left inProcess by a node that is gone: with an expired lease, or
        without one; with `mine_too` (at start-up) also this node id's own leases.
        Returns how many."""
        now = self.clock.now()
        jobs = self.manager.jobs
        node = self.node_id if mine_too else None
        count = 0
        for job_id in self.leases.stale(now, node):
            with self.manager.db.transaction(serialized=False):
                if not self.leases.take_over(job_id, now, node):
                    continue  # resolved meanwhile, or its node renewed the lease
                job = jobs.get(job_id)
                campaign = self.manager.campaigns.get(job.campaign_id) if job else None
                if job is None or campaign is None:
                    continue
                if self._recover_job(campaign, job, now):
                    count += 1
        if count:
            log.info("dialer: resolved %d job(s) interrupted mid-call", count)
        return count

    def _recover_job(self, campaign: Campaign, job: Job, now: float) -> bool:
        jobs = self.manager.jobs
        attempt = jobs.open_attempt(job.id)
        if attempt is None:  # claimed without an attempt row cannot happen; be safe
            jobs.settle(
                job.id,
                now,
                JobStatus.ON_RETRY if job.attempts_made else JobStatus.PLANNED,
                next_at=now,
            )
            return True
        outcome = self.recover_outcome(job, attempt) if self.recover_outcome else None
        if outcome is None:
            outcome = CallOutcome(False, 0, INTERRUPTED, attempt.started_at, now)
        status = self._resolve(campaign, job, attempt, outcome)
        self._job_changed(campaign, job, status, attempt.request_id)
        return True

    def _write_dnd_cdr(self, campaign: Campaign, job: Job, now: float) -> None:
        if self.cdrs is None:
            return
        from softswitch.store.cdrs import Cdr  # the CDR module belongs to the CPaaS side

        self.cdrs.insert(
            Cdr(
                account_id=campaign.account_id,
                request_id="",
                call_direction="outbound-campaign",
                destination_context=campaign.context,
                caller_id=campaign.caller_id,
                agent_number="",
                customer_number="",
                dialed_number=job.phone,
                call_date=now,
                answer=None,
                end=None,
                call_duration=None,
                billsec=None,
                call_status=None,
                dial_status=DialStatus.DND,
                campaign_id=campaign.id,
                list_id=job.list_id or campaign.list_id,
                is_dnd=True,
            )
        )
