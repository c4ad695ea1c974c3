"""`softswitch status`: the running switch's trunks, registered phones and live calls,
from the admin API (GET /api/admin/status)."""

from __future__ import annotations

import argparse

from .api_client import ApiClient, add_connection_options
from .tables import console, table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", help="trunks, registered phones and live calls")
    add_connection_options(parser)
    parser.add_argument("--token", help="admin token (default: $SOFTSWITCH_ADMIN_TOKEN)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    body = ApiClient.admin(args).get("/api/admin/status")
    out = console()
    out.print(f"switch: {body['status']}")
    trunks = body["trunks"]
    if trunks:
        out.print(
            table(
                "Trunks",
                ("name", "host", "state", "carrier", "last error"),
                ((t["name"], t["host"], t["state"], t["carrier"], t["last_error"]) for t in trunks),
            )
        )
    else:
        out.print("no trunks configured")
    phones = body["phones"]
    if phones:
        out.print(
            table(
                "Registered phones",
                ("extension", "name", "transport", "address", "reachable", "expires in", "agent"),
                (
                    (
                        p["number"],
                        p["name"],
                        p["transport"],
                        p["address"],
                        "yes" if p["reachable"] else "NO",
                        f"{p['expires_in']} s",
                        p["user_agent"],
                    )
                    for p in phones
                ),
            )
        )
    else:
        out.print("no registered phones")
    calls = body["calls"]
    legs = ", ".join(f"{n} {d}" for d, n in calls["legs"].items())
    out.print(f"live calls: {calls['bridged']} bridged; {calls['channels']} channel(s): {legs}")
    return 0
