"""Adding numbers to a campaign: the Calls API call policy of each number, duplicates,
idempotence keys. No HTTP here; the APIs shape `CampaignError` into their error bodies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from softswitch.store.database import transaction
from softswitch.store.idempotence import KEY_LIFETIME, IdempotenceStore
from softswitch.store.jobs import JobStore, NewJob

from .errors import CampaignError, ErrorKind
from .model import Campaign, JobSource, JobStatus, normalize_priority, valid_priority
from .windows import CallWindow, WindowError, parse_policy
from .zones import UTC, ZoneError, parse_zone, zone_name_for_number

MAX_PHONE_DIGITS = 20
_POLICY_FIELDS = ("startDateTime", "finishDateTime", "allowedDays", "allowedTime")
# every addPhones field but phone and payload is the number's calling policy
_CUSTOM_FIELDS = (*_POLICY_FIELDS, "retryIntervalInMinutes", "maxAttempts", "gmtZone")


def normalize_phone(value: object, where: str = "phone") -> str:
    """Digits only ('+', spaces, dashes, dots and brackets dropped)."""
    if isinstance(value, bool) or value is None:
        raise CampaignError(f"{where} is required", field=where)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise CampaignError(f"{where} must be a string of digits", field=where)
    digits = "".join(c for c in value if c not in "+ -().")
    if not digits.isdigit() or not 1 <= len(digits) <= MAX_PHONE_DIGITS:
        raise CampaignError(f"{where} {value!r} is not a phone number", field=where)
    return digits


def dedup_key(phone: str, payload: Any) -> str:
    """Same phone and same payload (or both without one) are duplicates."""
    return (
        phone
        + "|"
        + ("-" if payload is None else json.dumps(payload, sort_keys=True, separators=(",", ":")))
    )


@dataclass(slots=True)
class PhoneEntry:
    phone: str
    payload: Any = None  # as given; None = no payload
    policy: dict[str, Any] = field(default_factory=dict)  # startDateTime.. as given
    gmt_zone: str = ""
    retry_minutes: float | None = None
    max_attempts: int | None = None
    priority: int = 5
    dedup: str = ""
    custom: bool = False  # any calling-policy field given (see store.jobs on the order)


def _has_local_datetime(policy: Mapping[str, Any]) -> bool:
    """A start/finish without an offset is read in the customer's zone."""
    for name in ("startDateTime", "finishDateTime"):
        value = policy.get(name)
        if isinstance(value, str):
            try:
                if datetime.fromisoformat(value.strip().replace("Z", "+00:00")).tzinfo is None:
                    return True
            except ValueError:
                return True  # let parse_policy report it
    return False


def parse_entry(item: object, where: str) -> PhoneEntry:
    if not isinstance(item, Mapping):
        raise CampaignError(f"{where} must be an object", field=where)
    phone = normalize_phone(item.get("phone"), f"{where}.phone")
    # "arbitrary data": any JSON value; only an object's fields become flow variables
    payload = item.get("payload")
    entry = PhoneEntry(phone, dict(payload) if isinstance(payload, Mapping) else payload)
    entry.policy = {k: item[k] for k in _POLICY_FIELDS if item.get(k) is not None}
    zone = item.get("gmtZone")
    if zone is not None:
        if not isinstance(zone, str):
            raise CampaignError(f"{where}.gmtZone must be a string", field=f"{where}.gmtZone")
        try:
            parse_zone(zone)
        except ZoneError as exc:
            raise CampaignError(f"{where}.gmtZone: {exc}", field=f"{where}.gmtZone") from None
        entry.gmt_zone = zone
    retry = item.get("retryIntervalInMinutes")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, (int, float)) or retry < 0:
            raise CampaignError(
                f"{where}.retryIntervalInMinutes must be a number >= 0",
                field=f"{where}.retryIntervalInMinutes",
            )
        entry.retry_minutes = float(retry)
    attempts = item.get("maxAttempts")
    if attempts is not None:
        if isinstance(attempts, bool) or not isinstance(attempts, int):
            raise CampaignError(
                f"{where}.maxAttempts must be an integer", field=f"{where}.maxAttempts"
            )
        # 0 (the spec's own example) and below: the campaign's setting
        entry.max_attempts = attempts if attempts > 0 else None
    entry.priority = normalize_priority(item.get("dialerPriority"))
    # an out-of-range dialerPriority counts as not given (the spec sets it to the default)
    entry.custom = (
        any(item.get(name) is not None for name in _CUSTOM_FIELDS)
        or valid_priority(item.get("dialerPriority")) is not None
    )
    return entry


def zone_of(campaign: Campaign, phone: str, gmt_zone: str):
    """The customer's zone: gmtZone, else inferred from the number, else the campaign's."""
    if gmt_zone:
        return parse_zone(gmt_zone)
    inferred = zone_name_for_number(phone)
    if inferred:
        return parse_zone(inferred)
    try:
        return parse_zone(campaign.time_zone)
    except ZoneError:
        return UTC


def job_window(
    campaign: Campaign, phone: str, gmt_zone: str, policy_json: Mapping[str, Any]
) -> CallWindow:
    """The job's window, bounded by the campaign's start and end."""
    zone = zone_of(campaign, phone, gmt_zone) if _needs_zone(policy_json) else UTC
    window = CallWindow.from_json(policy_json, zone)
    if campaign.start_at is not None:
        start = datetime.fromtimestamp(campaign.start_at, UTC)
        window.start = start if window.start is None else max(window.start, start)
    if campaign.end_at is not None:
        end = datetime.fromtimestamp(campaign.end_at, UTC)
        window.finish = end if window.finish is None else min(window.finish, end)
    return window


def _needs_zone(policy_json: Mapping[str, Any]) -> bool:
    return "allowedDays" in policy_json or "allowedTime" in policy_json


class PhoneAdder:
    """addPhones / addPhone for one store; `now` comes from the caller's clock."""

    def __init__(self, jobs: JobStore, keys: IdempotenceStore) -> None:
        self.jobs = jobs
        self.keys = keys

    def build(
        self,
        campaign: Campaign,
        entries: Sequence[PhoneEntry],
        *,
        now: float,
        key: str | None,
        source: JobSource = JobSource.API,
        first_index: int = 0,
        cache: dict[tuple[str, str], tuple[str, float | None]] | None = None,
    ) -> list[NewJob]:
        """Jobs for the entries; `cache` (policy, zone) -> schedule may span several calls.

        A number without gmtZone whose policy has weekday/time rules gets its zone from
        phonenumbers, which costs ~60 us a number: too much for 10,000 numbers in one
        request. Such a job is stored due at the earliest instant its window could open
        in any zone (its start); the dialer infers the zone and moves the job to its
        true opening the first time it comes up, before dialing anything.
        """
        cache = {} if cache is None else cache
        built: list[NewJob] = []
        keyless = key is None and source != JobSource.TEST
        for index, entry in enumerate(entries, first_index):
            raw = repr(entry.policy) if entry.policy else ""
            if entry.gmt_zone or not raw:
                zone_key = entry.gmt_zone
            elif _has_local_datetime(entry.policy):
                zone_key = "=" + (zone_name_for_number(entry.phone) or "")
            else:
                zone_key = "?"  # deferred to the dialer (see above)
            cache_key = (raw, zone_key)
            if cache_key not in cache:
                try:
                    cache[cache_key] = self._schedule(campaign, entry, now, exact=zone_key != "?")
                except WindowError as exc:
                    name = str(exc).split(" ", 1)[0].rstrip(":")
                    raise CampaignError(f"[{index}].{exc}", field=f"[{index}].{name}") from None
            policy_json, next_at = cache[cache_key]
            built.append(
                NewJob(
                    campaign_id=campaign.id,
                    account_id=campaign.account_id,
                    phone=entry.phone,
                    payload=entry.payload,
                    dedup=entry.dedup or dedup_key(entry.phone, entry.payload),
                    keyless=keyless,
                    priority=entry.priority,
                    custom=entry.custom,
                    next_at=next_at if next_at is not None else now,
                    gmt_zone=entry.gmt_zone,
                    policy=policy_json,
                    max_attempts=entry.max_attempts or campaign.max_attempts,
                    retry_interval=(
                        entry.retry_minutes * 60
                        if entry.retry_minutes is not None
                        else campaign.retry_time
                    ),
                    source=source,
                    created_at=now,
                    status=JobStatus.PLANNED if next_at is not None else JobStatus.NOT_DONE,
                )
            )
        return built

    def _schedule(
        self, campaign: Campaign, entry: PhoneEntry, now: float, *, exact: bool
    ) -> tuple[str, float | None]:
        zone = zone_of(campaign, entry.phone, entry.gmt_zone) if exact else UTC
        window = parse_policy(
            start=entry.policy.get("startDateTime"),
            finish=entry.policy.get("finishDateTime"),
            allowed_days=entry.policy.get("allowedDays"),
            allowed_time=entry.policy.get("allowedTime"),
            zone=zone,
        )
        policy_json = window.to_json()
        if exact:
            bounded = job_window(campaign, entry.phone, entry.gmt_zone, policy_json)
        else:  # only the absolute bounds: a lower bound of the true opening
            bounded = job_window(
                campaign,
                entry.phone,
                "UTC",
                {k: v for k, v in policy_json.items() if k in ("start", "finish")},
            )
        found = bounded.next_allowed(datetime.fromtimestamp(now, UTC))
        return json.dumps(policy_json), (found.timestamp() if found is not None else None)

    def add(
        self,
        campaign: Campaign,
        entries: Sequence[PhoneEntry],
        *,
        now: float,
        key: str | None,
        source: JobSource = JobSource.API,
    ) -> list[int]:
        """Create the jobs; with a key seen within 24 h, return that request's IDs instead."""
        built = self.build(campaign, entries, now=now, key=key, source=source)
        return self.commit(campaign, built, now=now, key=key, source=source)

    def commit(
        self,
        campaign: Campaign,
        built: Sequence[NewJob],
        *,
        now: float,
        key: str | None,
        source: JobSource = JobSource.API,
    ) -> list[int]:
        """The write: key check, keyless-duplicate check and insert in one transaction, so
        two identical requests racing each other create the jobs once."""
        with transaction(self.jobs.db):
            if key is not None:
                stored = self.keys.get(campaign.account_id, key, now)
                if stored is not None:
                    return [int(i) for i in stored]
            if key is None and source != JobSource.TEST:
                recent = self.jobs.recent_keyless(
                    campaign.id, (j.dedup for j in built), now - KEY_LIFETIME
                )
                if recent:
                    phones = list(dict.fromkeys(j.phone for j in built if j.dedup in recent))
                    raise CampaignError(
                        "the number was added to the campaign less than 24 hours ago",
                        ErrorKind.DUPLICATED,
                        duplicates=phones,
                    )
            ids = self.jobs.add_many(built)
            if key is not None:
                self.keys.put(campaign.account_id, key, now, ids)
        return ids


def parse_entries(body: object) -> list[PhoneEntry]:
    """The addPhones body: an array of objects; duplicates inside it are refused."""
    entries = [parse_entry(item, f"[{i}]") for i, item in enumerate(check_body(body))]
    check_duplicates(entries)
    return entries


def check_body(body: object) -> list[Any]:
    """The addPhones body's items: a non-empty array."""
    if not isinstance(body, list):
        raise CampaignError("the body must be an array of phone objects")
    if not body:
        raise CampaignError("the body has no phones")
    return body


def check_duplicates(entries: Sequence[PhoneEntry]) -> None:
    seen: set[str] = set()
    duplicated: list[str] = []
    for entry in entries:
        key = entry.dedup = entry.dedup or dedup_key(entry.phone, entry.payload)
        if key in seen and entry.phone not in duplicated:
            duplicated.append(entry.phone)
        seen.add(key)
    if duplicated:
        # the spec's example lists the latest duplicate first and names it in `phone`
        duplicated.reverse()
        raise CampaignError("", ErrorKind.DUPLICATED, duplicates=duplicated)
