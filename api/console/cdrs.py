"""CDRs: filter by date, number and status; one CDR with its recording (play or
download); charts of calls per hour and of the answer rate per day."""

from __future__ import annotations

import calendar
import time
from datetime import date, timedelta
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from api.cpaas.files import FILE_NAME
from softswitch.store.cdr_search import CdrFilter, CdrSearch
from softswitch.store.cdrs import STATISTICS_KEYS

from . import charts
from .security import Visitor
from .web import SECURITY_HEADERS, Console

BACK = "/console/cdrs"
DEFAULT_DAYS = 7
MAX_DAYS = 31  # the charts' widest window: 744 hourly bars
DIAL_STATUSES = tuple(STATISTICS_KEYS)


class BadFilter(ValueError):
    pass


def parse_filter(params: dict[str, str], today: date) -> tuple[CdrFilter, date, date]:
    """The filter the query string asks for (BadFilter saying what is wrong)."""

    def day(name: str, default: date) -> date:
        text = params.get(name, "").strip()
        if not text:
            return default
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise BadFilter(f"{name}: {text!r} is not a date (YYYY-mm-dd)") from None

    last = day("to", today)
    first = day("from", last - timedelta(days=DEFAULT_DAYS - 1))
    if last < first:
        raise BadFilter("to: must not be before from")
    if (last - first).days >= MAX_DAYS:
        raise BadFilter(f"from, to: at most {MAX_DAYS} days at a time")
    number = params.get("number", "").strip().lstrip("+")
    if number and (not number.isdigit() or len(number) > 16):
        raise BadFilter(f"number: {number!r} is not digits")
    status = params.get("status", "").strip().upper()
    if status and status not in DIAL_STATUSES:
        raise BadFilter(f"status: {status!r} is not one of {', '.join(DIAL_STATUSES)}")
    start = calendar.timegm(first.timetuple())
    end = calendar.timegm((last + timedelta(days=1)).timetuple())
    return CdrFilter(float(start), float(end), number, status), first, last


def routes(console: Console) -> list[BaseRoute]:
    ctx = console.ctx
    search = CdrSearch(ctx.store.db)
    recordings_root = Path(ctx.config.media.recordings_dir)

    @console.page
    async def listing(request: Request, who: Visitor) -> Response:
        params = dict(request.query_params)
        today = time.gmtime()
        try:
            wanted, first, last = parse_filter(
                params, date(today.tm_year, today.tm_mon, today.tm_mday)
            )
        except BadFilter as exc:
            return console.render(request, "error.html", who, 400, message=str(exc), back=BACK)
        rows = search.find(who.account_id, wanted)
        hours = int((wanted.end - wanted.start) // 3600)
        days = hours // 24
        hourly = search.per_period(who.account_id, wanted, 3600)
        daily = search.per_period(who.account_id, wanted, 86400)
        total = sum(calls for _, calls, _ in daily)
        answered = sum(a for _, _, a in daily)
        return console.render(
            request,
            "cdrs.html",
            who,
            rows=rows,
            first=first.isoformat(),
            last=last.isoformat(),
            number=wanted.number,
            status=wanted.dial_status,
            statuses=DIAL_STATUSES,
            bars=charts.hour_bars(hourly, wanted.start, hours),
            points=charts.answer_rate_points(daily, wanted.start, days),
            chart=charts,
            total=total,
            answered=answered,
            rate=f"{answered / total:.0%}" if total else "",
        )

    @console.page
    async def one(request: Request, who: Visitor) -> Response:
        text = request.path_params["cdr_id"]
        cdr = search.get(who.account_id, int(text)) if text.isdigit() and len(text) < 19 else None
        if cdr is None:
            return console.render(
                request, "error.html", who, 404, message=f"no CDR {text}", back=BACK
            )
        return console.render(request, "cdr.html", who, cdr=cdr)

    @console.page
    async def recording(request: Request, who: Visitor) -> Response:
        name = request.path_params["name"]
        path = recordings_root / who.account_id / name
        if not FILE_NAME.match(name) or ".." in name or not name.endswith(".wav"):
            path = None
        if path is None or not path.is_file():
            return console.render(
                request,
                "error.html",
                who,
                404,
                message=f"no recording {name}",
                back=BACK,
            )
        download = request.query_params.get("download") == "1"
        return FileResponse(
            path,
            media_type="audio/wav",
            filename=name,
            content_disposition_type="attachment" if download else "inline",
            headers=SECURITY_HEADERS,
        )

    return [
        Route("/console/cdrs", listing, methods=["GET"]),
        Route("/console/cdrs/{cdr_id}", one, methods=["GET"]),
        Route("/console/recordings/{name}", recording, methods=["GET"]),
    ]
