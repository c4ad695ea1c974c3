"""``GET /api/admin/cdrs?since=...&until=...&account=...&limit=...``: the CDRs of every
account (or one) in a time window, oldest first (`softswitch cdr`). ``since`` and
``until`` are unix times or ISO 8601 dates/times (UTC unless they name a zone); without
``since``, the last 24 hours."""

from __future__ import annotations

import datetime
import math
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse

from .errors import AdminError

if TYPE_CHECKING:
    from softswitch.store.cdrs import CdrStore

# a page is built on the event loop: 1,000 rows take ~10 ms, 10,000 would stall the media
# tick for ~90 ms (the CPaaS API's get_cdr_by_date pages are as long)
MAX_LIMIT = 1000
DEFAULT_WINDOW = 86_400.0


def parse_time(text: str, name: str) -> float:
    """A unix time or an ISO 8601 date/time (naive: UTC); AdminError 400 otherwise."""
    problem = f"{name} must be a unix time or an ISO 8601 date, not {text[:40]!r}"
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise AdminError(problem, 400)
        return value
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise AdminError(problem, 400) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


class CdrsView:
    def __init__(self, cdrs: CdrStore) -> None:
        self.cdrs = cdrs

    async def index(self, request: Request) -> JSONResponse:
        query = request.query_params
        now = time.time()
        since = parse_time(query["since"], "since") if "since" in query else now - DEFAULT_WINDOW
        until = parse_time(query["until"], "until") if "until" in query else now + 1
        try:
            limit = int(query.get("limit", "100"))
        except ValueError:
            raise AdminError("limit must be an integer", 400) from None
        if not 1 <= limit <= MAX_LIMIT:
            raise AdminError(f"limit must be 1 to {MAX_LIMIT}", 400)
        rows = self.cdrs.between(since, until, limit, query.get("account") or None)
        return JSONResponse({"since": since, "until": until, "cdrs": [asdict(r) for r in rows]})
