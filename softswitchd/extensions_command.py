"""`softswitch extensions list|add|reset|remove`: the running switch's extensions, over
the admin API (/api/admin/extensions). A new or reset password is printed once: the
switch keeps only its digest hashes."""

from __future__ import annotations

import argparse
import urllib.parse

from .api_client import ApiClient, add_connection_options
from .tables import console, table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("extensions", help="extensions: list, add, reset, remove")
    add_connection_options(parser)
    parser.add_argument("--token", help="admin token (default: $SOFTSWITCH_ADMIN_TOKEN)")
    action = parser.add_subparsers(dest="action", required=True)
    action.add_parser("list", help="every extension, its settings and registrations")
    add = action.add_parser("add", help="a new extension; prints its generated password once")
    add.add_argument("number")
    add.add_argument("--name", help="display name")
    add.add_argument("--account", help="the CPaaS account it belongs to")
    add.add_argument("--caller-id", help="caller ID on calls out through a trunk")
    reset = action.add_parser("reset", help="a new password; the old one stops at once")
    reset.add_argument("number")
    remove = action.add_parser("remove", help="remove it and its registrations")
    remove.add_argument("number")
    parser.set_defaults(handler=run)


def _path(number: str) -> str:
    return "/api/admin/extensions/" + urllib.parse.quote(number, safe="")


def run(args: argparse.Namespace) -> int:
    client = ApiClient.admin(args)
    if args.action == "list":
        body = client.get("/api/admin/extensions")
        rows = (
            (
                e["number"],
                e["name"] or "",
                e["account"] or "",
                e["outside_caller_id"] or "",
                ",".join(e["transports"]) or "any",
                ",".join(e["codecs"]) or "any",
                e["max_devices"],
                "on" if e["voicemail"] else "off",
                len(e["registrations"]),
            )
            for e in body["extensions"]
        )
        columns = ("number", "name", "account", "caller ID", "transports", "codecs",
                   "max devices", "voicemail", "registered")  # fmt: skip
        console().print(table("Extensions", columns, rows))
        return 0
    if args.action == "add":
        request: dict[str, str] = {"number": args.number}
        for key, value in (
            ("name", args.name),
            ("account", args.account),
            ("outside_caller_id", args.caller_id),
        ):
            if value is not None:
                request[key] = value
        made = client.post("/api/admin/extensions", request)
        print(f"extension: {made['number']}\npassword: {made['password']}")
        print("(shown once; only its hash is kept)")
        return 0
    if args.action == "reset":
        made = client.post(_path(args.number) + "/password", {})
        print(f"extension: {made['number']}\npassword: {made['password']}")
        print("(shown once; the old password and its registrations stopped)")
        return 0
    client.request("DELETE", _path(args.number))
    print(f"extension {args.number} removed")
    return 0
