"""When a job may be dialed: the Calls API call policy in the customer's local time.

Rules (calls-api-addPhones.txt):
- `startDateTime`/`finishDateTime` bound everything (absolute instants);
- `allowedDays` lists the weekdays calls may take place; when given, `allowedTime` of
  other weekdays is ignored;
- `allowedTime` maps a weekday (`mon`..`sun`) or `default` to intervals
  `{"localTimeFrom": "HH:mm", "localTimeTo": "HH:mm"}`: both bounds required, no
  overlaps inside one list (touching is fine), and `from > to` is an overnight interval
  that starts on that weekday and ends the next day;
- a weekday with neither its own intervals nor `default` is allowed all day.

Local wall times become instants the way java.time does (`ZonedDateTime.of`): a time in
a spring-forward gap is moved forward by the gap's length, an ambiguous time at a
fall-back takes the earlier offset. That is exactly what `fold=0` does in zoneinfo.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from .zones import UTC

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 24 * 60
_HHMM = re.compile(r"(\d\d):(\d\d)\Z")


class WindowError(ValueError):
    """A call policy that cannot be used; the message names the field."""


@dataclass(slots=True, frozen=True)
class Interval:
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, 1..1440; end <= start: ends the next day

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def span(self) -> tuple[int, int]:
        """[start, end) on a two-day minute axis starting at this day's midnight."""
        return (self.start, self.end + DAY if self.overnight else self.end)

    def to_json(self) -> dict[str, str]:
        return {"localTimeFrom": _fmt(self.start), "localTimeTo": _fmt(self.end)}


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_hhmm(value: object, where: str, *, upper: bool) -> int:
    if not isinstance(value, str):
        raise WindowError(f"{where} must be a string HH:mm")
    match = _HHMM.match(value)
    if match is None:
        raise WindowError(f"{where} must look like HH:mm, not {value!r}")
    hours, minutes = int(match[1]), int(match[2])
    # 24:00 is the end of a day: only as an upper bound
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not upper)):
        raise WindowError(f"{where} {value!r} is not a time of day")
    return hours * 60 + minutes


def parse_intervals(items: object, where: str) -> tuple[Interval, ...]:
    if not isinstance(items, list):
        raise WindowError(f"{where} must be an array of intervals")
    intervals: list[Interval] = []
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise WindowError(f"{here} must be an object")
        if item.get("localTimeFrom") is None:
            raise WindowError(f"{here}.localTimeFrom is required")
        if item.get("localTimeTo") is None:
            raise WindowError(f"{here}.localTimeTo is required")
        start = parse_hhmm(item["localTimeFrom"], f"{here}.localTimeFrom", upper=False)
        end = parse_hhmm(item["localTimeTo"], f"{here}.localTimeTo", upper=True)
        if start == end:
            raise WindowError(f"{here} is empty: localTimeFrom equals localTimeTo")
        intervals.append(Interval(start, end))
    for i, a in enumerate(intervals):
        for j in range(i + 1, len(intervals)):
            if _overlap(a, intervals[j]):
                raise WindowError(f"{where}[{i}] and {where}[{j}] overlap")
    return tuple(sorted(intervals, key=lambda iv: iv.start))


def _overlap(a: Interval, b: Interval) -> bool:
    a0, a1 = a.span()
    b0, b1 = b.span()
    # an overnight interval also meets the next day's early part of the same list
    return any(a0 < b1 + shift and b0 + shift < a1 for shift in (-DAY, 0, DAY))


@dataclass(slots=True)
class CallWindow:
    zone: tzinfo = UTC
    start: datetime | None = None  # aware
    finish: datetime | None = None  # aware
    allowed_days: frozenset[int] | None = None  # 0 = Monday
    by_day: dict[int, tuple[Interval, ...]] = field(default_factory=dict)
    default: tuple[Interval, ...] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.allowed_days is None and not self.by_day and self.default is None

    def intervals_of(self, weekday: int) -> tuple[Interval, ...] | None:
        """The day's intervals, () when the day is closed, None when open all day."""
        if self.allowed_days is not None and weekday not in self.allowed_days:
            return ()
        if weekday in self.by_day:
            return self.by_day[weekday]
        return self.default

    def next_allowed(self, after: datetime) -> datetime | None:
        """The first instant >= `after` inside the window, None when there is none left."""
        if self.start is not None and after < self.start:
            after = self.start
        if self.finish is not None and after >= self.finish:
            return None
        found = self._next_in_days(after)
        if found is None or (self.finish is not None and found >= self.finish):
            return None
        return found

    def allows(self, instant: datetime) -> bool:
        return self.next_allowed(instant) == instant

    def open_until(self, instant: datetime) -> datetime | None:
        """When the slot containing `instant` closes (None: never), assuming it is open."""
        ends: list[datetime] = []
        local_day = instant.astimezone(self.zone).date()
        for day in (local_day - timedelta(days=1), local_day):
            for lo, hi in self._slots(day):
                if lo <= instant < hi:
                    ends.append(hi)
        end = max(ends) if ends else None
        if self.finish is not None and (end is None or self.finish < end):
            end = self.finish
        return end

    def _next_in_days(self, after: datetime) -> datetime | None:
        if self.unrestricted:
            return after
        local_day = after.astimezone(self.zone).date()
        # yesterday's overnight interval may still be open; a week + 1 covers every weekday
        best: datetime | None = None
        for offset in range(-1, 9):
            day = local_day + timedelta(days=offset)
            for lo, hi in self._slots(day):
                if hi <= after:
                    continue
                candidate = max(lo, after)
                if best is None or candidate < best:
                    best = candidate
            if best is not None and offset >= 0:
                return best
        return best

    def _slots(self, day: date) -> list[tuple[datetime, datetime]]:
        intervals = self.intervals_of(day.weekday())
        if intervals is None:
            intervals = (Interval(0, DAY),)
        slots = []
        for iv in intervals:
            lo = _instant(day, iv.start, self.zone)
            hi = _instant(day + timedelta(days=1) if iv.overnight else day, iv.end, self.zone)
            if lo < hi:
                slots.append((lo, hi))
        return slots

    # -- serialization (the store keeps the policy as JSON) ---------------------------

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.start is not None:
            data["start"] = self.start.timestamp()
        if self.finish is not None:
            data["finish"] = self.finish.timestamp()
        if self.allowed_days is not None:
            data["allowedDays"] = [WEEKDAYS[d] for d in sorted(self.allowed_days)]
        allowed: dict[str, list[dict[str, str]]] = {
            WEEKDAYS[d]: [iv.to_json() for iv in ivs] for d, ivs in sorted(self.by_day.items())
        }
        if self.default is not None:
            allowed["default"] = [iv.to_json() for iv in self.default]
        if allowed:
            data["allowedTime"] = allowed
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], zone: tzinfo) -> CallWindow:
        window = parse_policy(
            allowed_days=data.get("allowedDays"), allowed_time=data.get("allowedTime"), zone=zone
        )
        if "start" in data:
            window.start = datetime.fromtimestamp(data["start"], UTC)
        if "finish" in data:
            window.finish = datetime.fromtimestamp(data["finish"], UTC)
        return window


def _instant(day: date, minutes: int, zone: tzinfo) -> datetime:
    if minutes >= DAY:
        day, minutes = day + timedelta(days=1), minutes - DAY
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC)


def parse_datetime(value: object, where: str, zone: tzinfo = UTC) -> datetime:
    """ISO 8601 date-time; a value without an offset is read in `zone`."""
    if not isinstance(value, str):
        raise WindowError(f"{where} must be an ISO 8601 date-time string")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise WindowError(f"{where} {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def parse_policy(
    *,
    start: object = None,
    finish: object = None,
    allowed_days: object = None,
    allowed_time: object = None,
    zone: tzinfo = UTC,
) -> CallWindow:
    """Build a CallWindow from the Calls API fields; WindowError names the bad field."""
    window = CallWindow(zone=zone)
    if start is not None:
        window.start = parse_datetime(start, "startDateTime", zone)
    if finish is not None:
        window.finish = parse_datetime(finish, "finishDateTime", zone)
    if window.start and window.finish and window.finish <= window.start:
        raise WindowError("finishDateTime must be after startDateTime")
    if allowed_days is not None:
        if not isinstance(allowed_days, Sequence) or isinstance(allowed_days, str):
            raise WindowError("allowedDays must be an array of weekday names")
        days = set()
        for i, name in enumerate(allowed_days):
            if not isinstance(name, str) or name.lower() not in WEEKDAYS:
                raise WindowError(f"allowedDays[{i}] {name!r} is not one of {', '.join(WEEKDAYS)}")
            days.add(WEEKDAYS.index(name.lower()))
        window.allowed_days = frozenset(days)
    if allowed_time is not None:
        if not isinstance(allowed_time, Mapping):
            raise WindowError("allowedTime must be an object of weekday -> intervals")
        for key, items in allowed_time.items():
            name = str(key).lower()
            if name == "default":
                window.default = parse_intervals(items, "allowedTime.default")
            elif name in WEEKDAYS:
                window.by_day[WEEKDAYS.index(name)] = parse_intervals(items, f"allowedTime.{key}")
            else:
                raise WindowError(f"allowedTime.{key} is not a weekday or default")
    return window
