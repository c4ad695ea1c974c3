"""`softswitch calls`: every live channel of the running switch (GET /api/admin/calls)."""

from __future__ import annotations

import argparse

from .api_client import ApiClient, add_connection_options
from .tables import console, duration, table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("calls", help="the live calls, one row per channel (leg)")
    add_connection_options(parser)
    parser.add_argument("--token", help="admin token (default: $SOFTSWITCH_ADMIN_TOKEN)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    calls = ApiClient.admin(args).get("/api/admin/calls")["calls"]
    out = console()
    if not calls:
        out.print("no live calls")
        return 0
    out.print(
        table(
            f"Live calls: {len(calls)} channel(s)",
            (
                "channel",
                "direction",
                "endpoint",
                "number",
                "state",
                "talking to",
                "codec",
                "duration",
                "account",
                "request",
            ),
            (
                (
                    c["channel"],
                    c["direction"],
                    f"{c['endpoint']} {c['endpoint_name']}",
                    c["number"],
                    c["state"],
                    c["bridged_channel"],
                    c["codec"],
                    duration(c["duration"]),
                    c["account"],
                    c["request_id"],
                )
                for c in calls
            ),
        )
    )
    return 0
