"""Campaign start and end dates: the CPaaS "YYYY-mm-dd hh:mm:ss" in the campaign's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from .errors import CampaignError
from .zones import ZoneError, parse_zone

_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]?(\d{2}:\d{2}(?::\d{2})?)\Z")


def local_timestamp(text: str, zone: tzinfo, field: str) -> float:
    """The instant a wall-clock date (seconds optional) names in `zone`."""
    match = _DATE.match(text.strip())
    if match is None:
        raise CampaignError(f"{field}: {text!r} must look like YYYY-mm-dd hh:mm:ss", field=field)
    date, clock = match.groups()
    if clock.count(":") == 1:
        clock += ":00"
    try:
        moment = datetime.fromisoformat(f"{date}T{clock}")
    except ValueError:
        raise CampaignError(
            f"{field}: {text!r} is not a valid date and time", field=field
        ) from None
    return moment.replace(tzinfo=zone).timestamp()


def wall_clock(ts: float, zone_name: str) -> float:
    """The instant whose UTC reading is `ts`'s wall clock in the campaign's zone.

    The spec's get_campaign_details example reads back the 09:00 and 20:00 given at
    creation in Asia/Kolkata as "09:00:00 GMT" and "20:00:00 GMT": the dates a client
    sent come back unchanged, not converted to UTC. A zone that does not parse leaves
    `ts` as it is.
    """
    try:
        zone = parse_zone(zone_name)
    except ZoneError:
        return ts
    return datetime.fromtimestamp(ts, zone).replace(tzinfo=UTC).timestamp()
