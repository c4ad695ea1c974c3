"""`softswitch import numbers|contacts|dnd FILE.csv`: bulk imports through the CPaaS API, as
the account that will own what is imported (``--account``, secret in --auth or
$SOFTSWITCH_AUTH), with a progress bar.

* numbers: a header row with ``number`` and ``destination`` (``extension:101``,
  ``flow:main menu``, ...), optionally ``closed`` and ``hours`` (the JSON object of the
  API). One POST /api/numbers per row; a refused row is reported by its line and the
  others still go in (exit status 1 if any was refused).
* contacts: a campaign contact list, read as the API's CSV import reads it
  (softswitch.campaigns.csvimport: all or nothing, bad lines named) and sent in batches
  to /api/add_contact_to_list, into a new list (--list NAME) or an existing one
  (--list-id ID); dnd likewise, for a DND list (numbers a campaign never calls).

Extensions have no import: they are the config file's ``[[extensions]]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .api_client import ApiClient, ClientError, add_connection_options, base_url
from .tables import console

BATCH = 500  # contacts per request: progress steps without a request per contact
MAX_PROBLEMS_SHOWN = 20


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "import", help="import a CSV file: inbound numbers, contact or DND lists"
    )
    kinds = parser.add_subparsers(dest="kind", required=True)
    numbers = kinds.add_parser("numbers", help="inbound numbers: number,destination[,closed]")
    contacts = kinds.add_parser("contacts", help="a campaign contact list")
    dnd = kinds.add_parser("dnd", help="a campaign DND list (numbers never to call)")
    for kind in (numbers, contacts, dnd):
        kind.add_argument("file", type=Path, help="the CSV file (UTF-8)")
        add_connection_options(kind)
        kind.add_argument("--account", required=True, help="the CPaaS account that owns them")
        kind.add_argument("--auth", help="the account's secret (default: $SOFTSWITCH_AUTH)")
    for kind in (contacts, dnd):
        target = kind.add_mutually_exclusive_group(required=True)
        target.add_argument("--list", dest="list_name", help="create a list of this name")
        target.add_argument("--list-id", help="add to this existing list")
    numbers.set_defaults(handler=import_numbers)
    contacts.set_defaults(handler=import_contacts)
    dnd.set_defaults(handler=import_dnd)


def _client(args: argparse.Namespace) -> ApiClient:
    secret = args.auth or os.environ.get("SOFTSWITCH_AUTH", "")
    if not secret:
        raise ClientError("the account's secret is needed: --auth or $SOFTSWITCH_AUTH")
    return ApiClient(base_url(args), {"account": args.account, "auth": secret})


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(),
    )


def number_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line, API body) per row; ClientError for a file that is not such a CSV."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ClientError(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ClientError(f"{path}: not UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    if not {"number", "destination"} <= columns:
        raise ClientError(f"{path}: the header row must name number and destination")
    unknown = columns - {"number", "destination", "closed", "hours"}
    if unknown:
        raise ClientError(f"{path}: unknown column(s): {', '.join(sorted(unknown))}")
    rows = []
    for row in reader:
        cells = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if not any(cells.values()):
            continue
        body: dict[str, Any] = {"number": cells["number"], "destination": cells["destination"]}
        if cells.get("closed"):
            body["closed"] = cells["closed"]
        if cells.get("hours"):
            try:
                body["hours"] = json.loads(cells["hours"])
            except ValueError:
                raise ClientError(f"{path}: line {reader.line_num}: hours is not JSON") from None
        rows.append((reader.line_num, body))
    if not rows:
        raise ClientError(f"{path}: no rows to import")
    return rows


def import_numbers(args: argparse.Namespace) -> int:
    client = _client(args)
    rows = number_rows(args.file)
    problems: list[str] = []
    with _progress() as progress:
        task = progress.add_task("numbers", total=len(rows))
        for line, body in rows:
            try:
                client.post("/api/numbers", body)
            except ClientError as exc:
                if str(exc).startswith("cannot reach"):
                    raise
                problems.append(f"line {line} ({body['number']}): {exc}")
            progress.advance(task)
    out = console()
    out.print(f"{len(rows) - len(problems)} of {len(rows)} numbers imported")
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        out.print(f"  {problem}")
    if len(problems) > MAX_PROBLEMS_SHOWN:
        out.print(f"  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    return 1 if problems else 0


@dataclass(frozen=True, slots=True)
class ListApi:
    """How the CPaaS API makes a list of one kind and adds contacts to it."""

    kind: str  # "contacts" or "DND contacts", as the output says it
    columns: str  # the name of the csvimport column set
    create: str  # the endpoint that makes a list: its body key, the response's id key
    name_key: str
    id_key: str
    add: str  # the endpoint that adds contacts: its list id key, its contacts key
    items_key: str
    prefix: str  # the contact keys' prefix ("" or "dnd_")


CONTACTS = ListApi(
    "contacts",
    "CONTACT_COLUMNS",
    "/api/create_campaign_list",
    "list_name",
    "list_id",
    "/api/add_contact_to_list",
    "contacts",
    "",
)
DND = ListApi(
    "DND contacts",
    "DND_COLUMNS",
    "/api/create_campaign_dnd_list",
    "dnd_list_name",
    "dnd_list_id",
    "/api/add_dnd_contact_to_list",
    "dnd_contacts",
    "dnd_",
)


def import_contacts(args: argparse.Namespace) -> int:
    return _import_list(args, CONTACTS)


def import_dnd(args: argparse.Namespace) -> int:
    return _import_list(args, DND)


def _import_list(args: argparse.Namespace, api: ListApi) -> int:
    from softswitch.campaigns import csvimport
    from softswitch.campaigns.errors import CampaignError

    if not args.file.is_file():
        raise ClientError(f"{args.file}: no such file")
    client = _client(args)
    try:
        contacts = csvimport.read_csv(args.file, getattr(csvimport, api.columns))
    except CampaignError as exc:
        raise ClientError(str(exc)) from None
    list_id = args.list_id
    if list_id is None:
        made = client.post(api.create, {api.name_key: args.list_name})
        list_id = made["response"][api.id_key]
    with _progress() as progress:
        task = progress.add_task(api.kind, total=len(contacts))
        for start in range(0, len(contacts), BATCH):
            batch = contacts[start : start + BATCH]
            items: list[dict[str, Any]] = []
            for c in batch:
                item: dict[str, Any] = {
                    f"{api.prefix}contact_name": c.name,
                    f"{api.prefix}contact_number": c.number,
                }
                if not api.prefix:  # DND lists keep no fields
                    item["contact_fields"] = c.fields
                items.append(item)
            try:
                client.post(api.add, {api.id_key: list_id, api.items_key: items})
            except ClientError as exc:
                raise ClientError(
                    f"{exc} (after {start} of {len(contacts)} {api.kind}; list {list_id})"
                ) from None
            progress.advance(task, len(batch))
    console().print(f"{len(contacts)} {api.kind} imported into list {list_id}")
    return 0
