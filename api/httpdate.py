"""HTTP dates ("Fri, 07 Jul 2023 06:08:16 GMT", RFC 9110 IMF-fixdate), as the APIs show
call and campaign times."""

from __future__ import annotations

import math
import time
from functools import lru_cache

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY = 86400


@lru_cache(maxsize=4096)
def _day(day: int) -> str:
    t = time.gmtime(day * _DAY)
    return f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "


def http_date(ts: float | None) -> str:
    """The same text as email.utils.formatdate(ts, usegmt=True); a time that never was
    (None: no answer) is the epoch, as in the spec's examples. Formatting is most of the
    cost of a 1000-row CDR page, so the date part is computed once per day."""
    day, second = divmod(math.floor(ts or 0), _DAY)
    hour, rest = divmod(second, 3600)
    return f"{_day(day)}{hour:02d}:{rest // 60:02d}:{rest % 60:02d} GMT"
