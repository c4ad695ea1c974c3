"""`softswitch trunks list|add|change|remove`: the running switch's trunks, over the
admin API (/api/admin/trunks). A trunk added registers at once, a changed one
re-registers, a removed one unregisters; calls through it go on. The password is read
from $SOFTSWITCH_TRUNK_PASSWORD (kept out of the process list) or --password."""

from __future__ import annotations

import argparse
import os
import urllib.parse
from typing import Any

from .api_client import ApiClient, add_connection_options
from .tables import console, table


def _settings(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--host", help="the carrier, host[:port] (its name must resolve)")
    parser.add_argument("--username")
    parser.add_argument("--password", help="default: $SOFTSWITCH_TRUNK_PASSWORD")
    parser.add_argument(
        "--register",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="register to the carrier (--no-register: it knows us by address)",
    )
    parser.add_argument("--transport", choices=("udp", "tcp", "tls"))
    parser.add_argument("--prefix", action="append", help="numbers it carries (repeat)")
    parser.add_argument("--caller-id")
    parser.add_argument("--account", help="the CPaaS account that sees its inbound calls")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("trunks", help="trunks: list, add, change, remove")
    add_connection_options(parser)
    parser.add_argument("--token", help="admin token (default: $SOFTSWITCH_ADMIN_TOKEN)")
    action = parser.add_subparsers(dest="action", required=True)
    action.add_parser("list", help="every trunk, its settings and state")
    _settings(action.add_parser("add", help="a new trunk; it registers at once"))
    _settings(action.add_parser("change", help="change a trunk; it re-registers"))
    remove = action.add_parser("remove", help="remove a trunk; it unregisters")
    remove.add_argument("name")
    parser.set_defaults(handler=run)


def _body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    password = args.password or os.environ.get("SOFTSWITCH_TRUNK_PASSWORD")
    for key, value in (
        ("host", args.host),
        ("username", args.username),
        ("password", password),
        ("register", args.register),
        ("transport", args.transport),
        ("prefixes", args.prefix),
        ("caller_id", args.caller_id),
        ("account", args.account),
    ):
        if value is not None:
            body[key] = value
    return body


def run(args: argparse.Namespace) -> int:
    client = ApiClient.admin(args)
    if args.action == "list":
        trunks = client.get("/api/admin/trunks")["trunks"]
        rows = (
            (
                t["name"],
                t["host"],
                t["transport"],
                "yes" if t["register"] else "no",
                ",".join(t["prefixes"]),
                t["state"] or "",
                t["last_error"] or "",
            )
            for t in trunks
        )
        columns = ("name", "host", "transport", "register", "prefixes", "state", "last error")
        console().print(table("Trunks", columns, rows))
        return 0
    path = "/api/admin/trunks/" + urllib.parse.quote(args.name, safe="")
    if args.action == "add":
        made = client.post("/api/admin/trunks", {"name": args.name, **_body(args)})
        print(f"trunk {made['name']} added ({made['host']}): {made['state']}")
    elif args.action == "change":
        made = client.request("PATCH", path, _body(args))
        print(f"trunk {made['name']} changed ({made['host']}): {made['state']}")
    else:
        client.request("DELETE", path)
        print(f"trunk {args.name} removed")
    return 0
