"""Customer time zones: the Calls API `gmtZone` grammar and zone inference from a number.

`gmtZone` accepts what java.time's `ZoneId.of` accepts, which is what the JAICP dialer
parses: `Z`; an offset `+h`, `+hh`, `±hhmm`, `±hhmmss` with optional `:` separators
(`+hh:mm`, `+hh:mm:ss`); the same behind a `UTC`, `GMT` or `UT` prefix (a bare prefix is
UTC); or an IANA TZDB id. Offsets are limited to ±18:00 as in Java.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones


class ZoneError(ValueError):
    """A gmtZone value that is not a valid zone."""


UTC = UTC

# sign, hours (1-2 digits), then minutes and seconds either all with ':' or all without;
# a one-digit hour stands alone, as in java.time.ZoneOffset.of
_OFFSET = re.compile(
    r"(?P<sign>[+-])(?:(?P<h1>\d)|(?P<h2>\d\d)(?:(?P<m1>\d\d)(?P<s1>\d\d)?"
    r"|:(?P<m2>\d\d)(?::(?P<s2>\d\d))?)?)\Z"
)
_PREFIXES = ("UTC", "GMT", "UT")  # UTC before UT: longest match first
_MAX_OFFSET = 18 * 3600


def parse_offset(text: str) -> timezone:
    """Parse `+h`, `+hh`, `±hhmm`, `±hhmmss`, `±hh:mm`, `±hh:mm:ss` into a fixed zone."""
    match = _OFFSET.match(text)
    if match is None:
        raise ZoneError(f"invalid zone offset {text!r}")
    hours = int(match["h1"] or match["h2"])
    minutes = int(match["m1"] or match["m2"] or 0)
    seconds = int(match["s1"] or match["s2"] or 0)
    if minutes > 59 or seconds > 59:
        raise ZoneError(f"invalid zone offset {text!r}")
    total = hours * 3600 + minutes * 60 + seconds
    if total > _MAX_OFFSET:
        raise ZoneError(f"zone offset {text!r} is beyond ±18:00")
    sign = -1 if match["sign"] == "-" else 1
    return timezone(timedelta(seconds=sign * total)) if total else UTC


@lru_cache(maxsize=4096)
def parse_zone(text: str) -> tzinfo:
    """Parse a gmtZone value; raises ZoneError naming the value."""
    if not isinstance(text, str) or not text or text != text.strip():
        raise ZoneError(f"invalid gmtZone {text!r}")
    if text == "Z":
        return UTC
    if text[0] in "+-":
        return parse_offset(text)
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            rest = text[len(prefix) :]
            if not rest:
                return UTC
            if rest[0] in "+-":
                return parse_offset(rest)
            break
    # IANA ids are letters, digits and '/_+-'; refuse anything that could be a path
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", text):
        raise ZoneError(f"invalid gmtZone {text!r}")
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ZoneError(f"unknown time zone {text!r}") from None


def is_valid_zone(text: str) -> bool:
    try:
        parse_zone(text)
    except ZoneError:
        return False
    return True


def parse_number(number: str) -> phonenumbers.PhoneNumber | None:
    """The number as an international number (digits with or without '+'), or None."""
    digits = number.strip()
    if not digits.startswith("+"):
        digits = "+" + digits
    try:
        return phonenumbers.parse(digits, None)
    except phonenumbers.NumberParseException:
        return None


@lru_cache(maxsize=65536)
def zone_name_for_number(number: str) -> str | None:
    """The IANA zone of a number when phonenumbers knows exactly one, else None.

    A number spanning several zones (a Russian mobile, a US toll-free) gives None, so
    the caller falls back to the campaign's zone instead of guessing.
    """
    parsed = parse_number(number)
    if parsed is None:
        return None
    zones = set(phone_timezones.time_zones_for_number(parsed))
    zones.discard(phone_timezones.UNKNOWN_TIMEZONE)
    if len(zones) != 1:
        return None
    name = zones.pop()
    return name if is_valid_zone(name) else None


def zone_for_number(number: str, default: tzinfo) -> tzinfo:
    name = zone_name_for_number(number)
    return parse_zone(name) if name else default


# Local extensions and test numbers are short; phonenumbers says nothing useful about them.
MIN_CHECKED_DIGITS = 8


def plausible_number(number: str) -> bool:
    """False when phonenumbers rejects the number as an international number.

    Numbers shorter than MIN_CHECKED_DIGITS digits (extensions) are not checked.
    """
    digits = number.lstrip("+")
    if not digits.isdigit():
        return False
    if len(digits) < MIN_CHECKED_DIGITS:
        return True
    parsed = parse_number(digits)
    return parsed is not None and phonenumbers.is_valid_number(parsed)
