"""Campaign operations shared by the CPaaS campaign manager, the Calls API and the dialer."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Mapping
from typing import Any

from softswitch.store.campaigns import CampaignStore
from softswitch.store.database import transaction
from softswitch.store.engine import Database
from softswitch.store.idempotence import IdempotenceStore
from softswitch.store.jobs import JobStore, NewJob
from softswitch.store.lists import ContactList, ListKind, ListStore
from softswitch.store.webhooks import WebhookStore
from softswitch.webhooks.events import WebhookEvents

from .clock import Clock, SystemClock
from .errors import CampaignError, ErrorKind
from .model import (
    FINAL_STATUSES,
    Attempt,
    Campaign,
    CampaignStatus,
    Job,
    JobSource,
    JobStatus,
    ShortReport,
)
from .phones import (
    PhoneAdder,
    PhoneEntry,
    check_body,
    check_duplicates,
    normalize_phone,
    parse_entries,
    parse_entry,
)

ACTIVE = (CampaignStatus.PLANNED, CampaignStatus.IN_PROCESS, CampaignStatus.PAUSED)


class CampaignManager:
    def __init__(
        self,
        db: Database,
        clock: Clock | None = None,
        events: WebhookEvents | None = None,
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        # campaigns' webhooks (finished here, job statuses in the dialer)
        self.events = events or WebhookEvents(WebhookStore(db))
        self.campaigns = CampaignStore(db)
        self.jobs = JobStore(db)
        self.keys = IdempotenceStore(db)
        self.lists = ListStore(db)
        self.adder = PhoneAdder(self.jobs, self.keys)
        # the dialer subscribes: new jobs or a resumed campaign should not wait for a poll
        self.listeners: list[Callable[[], None]] = []

    def changed(self) -> None:
        for listener in self.listeners:
            listener()

    # -- campaigns ----------------------------------------------------------------------

    def create(self, campaign: Campaign) -> Campaign:
        """Store the campaign and queue its contact list (if any) as jobs."""
        now = self.clock.now()
        campaign.created_at = campaign.created_at or now
        with transaction(self.db):
            self.campaigns.create(campaign)
            if campaign.list_id:
                self._queue_list(campaign, now)
        self.changed()
        return campaign

    def _queue_list(self, campaign: Campaign, now: float) -> None:
        start = max(now, campaign.start_at or now)
        jobs = [
            NewJob(
                campaign_id=campaign.id,
                account_id=campaign.account_id,
                phone=c.number,
                payload={k: str(v) for k, v in c.fields.items()},
                dedup="",
                keyless=False,
                priority=5,
                next_at=start,
                gmt_zone="",
                policy={},
                max_attempts=campaign.max_attempts,
                retry_interval=campaign.retry_time,
                source=JobSource.LIST,
                created_at=now,
                list_id=campaign.list_id,
                contact_name=c.name,
            )
            for c in self.lists.contacts(campaign.list_id)
        ]
        self.jobs.add_many(jobs)

    def get(self, campaign_id: str, account_id: str) -> Campaign | None:
        campaign = self.campaigns.get(campaign_id)
        if campaign is None or campaign.account_id != account_id:
            return None
        return campaign

    def owned(self, campaign_id: str, account_id: str) -> Campaign:
        """The account's campaign; CampaignError NOT_FOUND otherwise."""
        campaign = self.get(campaign_id, account_id)
        if campaign is None:
            raise CampaignError("campaign not found", ErrorKind.NOT_FOUND)
        return campaign

    def by_token(self, token: str) -> Campaign:
        """The campaign a Calls API token opens: 401 when malformed or wrong, 404 deleted.

        A token naming a campaign that does not exist (or another account's) is refused
        exactly like a wrong secret, after the same comparison: only the holder of the
        right token learns anything about the campaign, even that it exists."""
        parts = token.split(".")
        if len(parts) < 3 or not all(parts):
            raise CampaignError("invalid token", ErrorKind.BAD_TOKEN)
        # account ids may contain dots: the campaign id and the secret are the last two parts
        account_id, campaign_id = ".".join(parts[:-2]), parts[-2]
        campaign = self.campaigns.get(campaign_id)
        if campaign is not None and campaign.account_id != account_id:
            campaign = None
        # an unknown campaign costs the same comparison, against a stand-in of equal length
        expected = token if campaign is None else campaign.token
        matches = hmac.compare_digest(expected.encode(), token.encode())
        if campaign is None or not matches:
            raise CampaignError("invalid token", ErrorKind.BAD_TOKEN)
        if campaign.status is CampaignStatus.DELETED:
            raise CampaignError("campaign not found", ErrorKind.NOT_FOUND)
        return campaign

    # -- adding numbers -------------------------------------------------------------------

    def _check_open(self, campaign: Campaign) -> None:
        if campaign.status not in ACTIVE:
            raise CampaignError(f"the campaign is {campaign.status.value}", ErrorKind.CLOSED)

    def add_phones(self, campaign: Campaign, body: object, key: str | None) -> list[int]:
        self._check_open(campaign)
        entries = parse_entries(body)
        ids = self.adder.add(campaign, entries, now=self.clock.now(), key=key)
        self.changed()
        return ids

    async def add_phones_async(
        self, campaign: Campaign, body: object, key: str | None, chunk: int = 1000
    ) -> list[int]:
        """add_phones for the API: parsing and scheduling yield to the event loop every
        `chunk` numbers (a 10,000-number body must not stall the media clock); the write
        is one transaction."""
        self._check_open(campaign)
        items = check_body(body)
        now = self.clock.now()
        entries: list[PhoneEntry] = []
        for start in range(0, len(items), chunk):
            entries.extend(
                parse_entry(item, f"[{i}]")
                for i, item in enumerate(items[start : start + chunk], start)
            )
            await asyncio.sleep(0)
        check_duplicates(entries)
        cache: dict[Any, Any] = {}
        built: list[NewJob] = []
        for start in range(0, len(entries), chunk):
            built.extend(
                self.adder.build(
                    campaign,
                    entries[start : start + chunk],
                    now=now,
                    key=key,
                    first_index=start,
                    cache=cache,
                )
            )
            await asyncio.sleep(0)
        fresh = self.campaigns.get(campaign.id)
        if fresh is not None:
            self._check_open(fresh)
        ids = self.adder.commit(campaign, built, now=now, key=key)
        self.changed()
        return ids

    def add_phone(
        self, campaign: Campaign, params: Mapping[str, str], key: str | None, *, test: bool = False
    ) -> int:
        """crmCalls addPhone: `phone`, `gmtZone`; every other parameter is payload."""
        self._check_open(campaign)
        item: dict[str, Any] = {"phone": params.get("phone")}
        if params.get("gmtZone"):
            # a literal "+" in a query string is decoded as a space: the spec's own
            # example sends ?gmtZone=+03:30 unencoded (zones never contain spaces)
            item["gmtZone"] = params["gmtZone"].replace(" ", "+")
        payload = {
            k: v for k, v in params.items() if k not in ("phone", "gmtZone", "Idempotence-Key")
        }
        if payload:
            item["payload"] = payload
        entries = parse_entries([item])
        ids = self.adder.add(
            campaign,
            entries,
            now=self.clock.now(),
            key=key,
            source=JobSource.TEST if test else JobSource.API,
        )
        self.changed()
        return ids[0]

    # -- control --------------------------------------------------------------------------

    def start(self, campaign: Campaign) -> CampaignStatus:
        now = self.clock.now()
        if campaign.status is CampaignStatus.PLANNED:
            start_at = now if campaign.start_at is None or campaign.start_at > now else None
            self.campaigns.set_status(campaign.id, CampaignStatus.IN_PROCESS, start_at=start_at)
        elif campaign.status is CampaignStatus.PAUSED:
            self.campaigns.set_status(campaign.id, CampaignStatus.IN_PROCESS)
        elif campaign.status is not CampaignStatus.IN_PROCESS:
            raise CampaignError(f"the campaign is {campaign.status.value}", ErrorKind.CLOSED)
        self.changed()
        return CampaignStatus.IN_PROCESS

    def pause(self, campaign: Campaign) -> CampaignStatus:
        if campaign.status is CampaignStatus.PAUSED:
            return campaign.status
        if not self.campaigns.set_status(
            campaign.id,
            CampaignStatus.PAUSED,
            expect=(CampaignStatus.PLANNED, CampaignStatus.IN_PROCESS),
        ):
            raise CampaignError(f"the campaign is {campaign.status.value}", ErrorKind.CLOSED)
        return CampaignStatus.PAUSED

    def resume(self, campaign: Campaign) -> CampaignStatus:
        if campaign.status is CampaignStatus.IN_PROCESS:
            return campaign.status
        if campaign.status is not CampaignStatus.PAUSED:
            raise CampaignError(
                f"the campaign is {campaign.status.value}, not paused", ErrorKind.NOT_PAUSED
            )
        self.campaigns.set_status(campaign.id, CampaignStatus.IN_PROCESS)
        self.changed()
        return CampaignStatus.IN_PROCESS

    def stop(self, campaign: Campaign) -> CampaignStatus:
        """Finish the campaign: calls in progress end normally, nothing else is dialed."""
        if campaign.status in (CampaignStatus.FINISHED, CampaignStatus.DELETED):
            return campaign.status
        now = self.clock.now()
        with transaction(self.db):
            self.campaigns.set_status(campaign.id, CampaignStatus.FINISHED, stopped_at=now)
            self.jobs.close_queue(campaign.id, now)
            self._finished(campaign)
        self.changed()
        return CampaignStatus.FINISHED

    def finish_if_over(self, campaign: Campaign, now: float) -> bool:
        """End a campaign whose end date has passed."""
        if campaign.end_at is not None and now >= campaign.end_at and campaign.status in ACTIVE:
            with transaction(self.db):
                self.campaigns.set_status(campaign.id, CampaignStatus.FINISHED)
                self.jobs.close_queue(campaign.id, now)
                self._finished(campaign)
            return True
        return False

    def _finished(self, campaign: Campaign) -> None:
        self.events.campaign_finished(
            campaign.account_id, campaign.id, self.jobs.status_counts(campaign.id)
        )

    # -- jobs -------------------------------------------------------------------------------

    def cancel(self, campaign: Campaign, body: object) -> list[int]:
        """callJob/cancel: jobs added through the Calls API, not yet final."""
        ids, phones = parse_selection(body)
        jobs = self.jobs.select(campaign.id, ids=ids, phones=phones)
        wanted = [
            j.id
            for j in jobs
            if j.source in (JobSource.API, JobSource.TEST) and j.status not in FINAL_STATUSES
        ]
        return self.jobs.cancel(campaign.id, wanted, self.clock.now())

    def job_report(self, campaign: Campaign, body: object) -> list[Job]:
        """The jobs `body` selects (`phones` and/or `ids`)."""
        ids, phones = parse_selection(body)
        return self.jobs.select(campaign.id, ids=ids, phones=phones)

    def attempt_report(self, campaign: Campaign, body: object) -> list[tuple[Attempt, Job]]:
        """The attempts of the jobs `body` selects, each with its job."""
        ids, phones = parse_selection(body)
        jobs = {j.id: j for j in self.jobs.select(campaign.id, ids=ids, phones=phones)}
        return [(a, jobs[a.job_id]) for a in self.jobs.attempts(jobs)]

    def short_report(self, campaign: Campaign) -> ShortReport:
        counts = self.jobs.status_counts(campaign.id)
        return ShortReport(
            numbers=sum(counts.values()),
            processed=sum(n for s, n in counts.items() if s in FINAL_STATUSES),
            talk_seconds=self.jobs.talk_seconds(campaign.id),
            in_process=counts.get(JobStatus.IN_PROCESS.value, 0),
            on_retry=counts.get(JobStatus.ON_RETRY.value, 0),
        )

    # -- lists -------------------------------------------------------------------------------

    def owned_list(self, list_id: str, account_id: str, kind: ListKind) -> ContactList:
        """The account's list; CampaignError NOT_FOUND naming the request field otherwise."""
        found = self.lists.get(list_id, account_id, kind)
        if found is None:
            what = "dnd_list_id" if kind is ListKind.DND else "list_id"
            raise CampaignError(f"{what}: {list_id} not found", ErrorKind.NOT_FOUND, field=what)
        return found

    def is_dnd(self, campaign: Campaign, phone: str) -> bool:
        return bool(campaign.dnd_list_id) and self.lists.contains(campaign.dnd_list_id, phone)


MAX_JOB_ID = 2**63  # SQLite INTEGER is 64-bit signed


def parse_selection(body: object) -> tuple[list[int], list[str]]:
    """`phones` and/or `ids` of cancel and the reports."""
    if not isinstance(body, Mapping):
        raise CampaignError("the body must be an object with phones and/or ids")
    ids_raw, phones_raw = body.get("ids") or [], body.get("phones") or []
    if not isinstance(ids_raw, list) or not isinstance(phones_raw, list):
        raise CampaignError("ids and phones must be arrays")
    if not ids_raw and not phones_raw:
        raise CampaignError("give phones and/or ids")
    ids: list[int] = []
    for i, value in enumerate(ids_raw):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise CampaignError(f"ids[{i}] must be an integer", field=f"ids[{i}]")
        # beyond SQLite's 64-bit integers no job has it: like any unknown id, it selects
        # nothing (binding it would raise OverflowError)
        if 0 < value < MAX_JOB_ID:
            ids.append(value)
    phones = [normalize_phone(p, f"phones[{i}]") for i, p in enumerate(phones_raw)]
    return ids, phones
