"""`softswitch cdr --since ...`: the CDRs of every account (or one) in a time window,
as a table, from the admin API (GET /api/admin/cdrs)."""

from __future__ import annotations

import argparse
import datetime
import re
import time

from .api_client import ApiClient, ClientError, add_connection_options
from .tables import console, duration, table, when

_RELATIVE = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def moment(text: str) -> str:
    """--since/--until: "2h", "30m", "7d" ago, or an ISO 8601 date/time (UTC unless it
    names a zone), as the unix time the API takes."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        return str(time.time() - int(relative[1]) * _UNITS[relative[2]])
    try:
        parsed = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a time ago (30m, 2h, 7d) or an ISO date (2026-12-06, 2026-12-06T08:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return str(parsed.timestamp())


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("cdr", help="call detail records of a time window, as a table")
    add_connection_options(parser)
    parser.add_argument("--token", help="admin token (default: $SOFTSWITCH_ADMIN_TOKEN)")
    parser.add_argument(
        "--since", type=moment, default=moment("24h"), help="30m, 2h, 7d or an ISO date (24h)"
    )
    parser.add_argument("--until", type=moment, help="the window's end (default: now)")
    parser.add_argument("--account", help="one account's CDRs only")
    parser.add_argument(
        "--limit", type=int, default=100, help="rows at most, 1-1000 (oldest first)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 1000:
        raise ClientError("--limit must be 1 to 1000")
    body = ApiClient.admin(args).get(
        "/api/admin/cdrs",
        since=args.since,
        until=args.until or "",
        account=args.account or "",
        limit=str(args.limit),
    )
    rows = body["cdrs"]
    out = console()
    if not rows:
        out.print("no CDRs in that window")
        return 0
    out.print(
        table(
            f"CDRs: {len(rows)}" + (" (the first --limit rows)" if len(rows) == args.limit else ""),
            (
                "date (UTC)",
                "account",
                "request",
                "direction",
                "caller id",
                "agent",
                "customer",
                "status",
                "dial status",
                "duration",
                "billsec",
                "hang-up cause",
            ),
            (
                (
                    when(r["call_date"]),
                    r["account_id"],
                    r["request_id"],
                    r["call_direction"],
                    r["caller_id"],
                    r["agent_number"],
                    r["customer_number"],
                    r["call_status"],
                    r["dial_status"],
                    duration(r["call_duration"]),
                    duration(r["billsec"]),
                    r["hangup_cause"],
                )
                for r in rows
            ),
        )
    )
    return 0
