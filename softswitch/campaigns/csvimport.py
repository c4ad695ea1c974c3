"""Contacts from an uploaded CSV file, for a contact list or a DND list.

All-or-nothing: one bad row refuses the whole file, and the error names the bad lines
(up to five), so a corrected file can be imported again without duplicating the good
rows. A header row is recognised by a number column (`contact_number`, `number`,
`phone`...); without one the columns are name, number, field1, field2... (a single
column is the number).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from softswitch.store.lists import Contact

from .errors import CampaignError, ErrorKind
from .phones import normalize_phone

MAX_CSV_ROWS = 200_000
MAX_PROBLEMS_NAMED = 5


@dataclass(frozen=True, slots=True)
class CsvColumns:
    """The header names that mark the number and name columns; `fields` keeps the others."""

    number: tuple[str, ...]
    name: tuple[str, ...]
    fields: bool


CONTACT_COLUMNS = CsvColumns(
    number=("contact_number", "number", "phone", "phone_number", "mobile"),
    name=("contact_name", "name"),
    fields=True,
)
DND_COLUMNS = CsvColumns(
    number=("dnd_contact_number", *CONTACT_COLUMNS.number),
    name=("dnd_contact_name", *CONTACT_COLUMNS.name),
    fields=False,
)


def read_csv(path: Path, columns: CsvColumns) -> list[Contact]:
    """The file's contacts; CampaignError (NOT_FOUND for a missing file) otherwise."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CampaignError(
            f"{path.name}: no such file in the upload area", ErrorKind.NOT_FOUND
        ) from None
    except UnicodeDecodeError:
        raise CampaignError(f"{path.name}: not UTF-8 text") from None
    rows = [
        (n, row)
        for n, row in enumerate(csv.reader(io.StringIO(text)), 1)
        if any(cell.strip() for cell in row)
    ]
    if not rows:
        raise CampaignError(f"{path.name}: no contacts in the file")
    if len(rows) > MAX_CSV_ROWS + 1:
        raise CampaignError(f"{path.name}: more than {MAX_CSV_ROWS} rows")
    header = [cell.strip().lower() for cell in rows[0][1]]
    number_col = next((header.index(h) for h in columns.number if h in header), None)
    if number_col is not None:
        name_col = next((header.index(h) for h in columns.name if h in header), None)
        names = [c.strip() for c in rows[0][1]]
        rows = rows[1:]
    else:
        width = len(rows[0][1])
        number_col, name_col = (0, None) if width == 1 else (1, 0)
        names = ["contact_name", "contact_number"] + [f"field{i}" for i in range(1, width - 1)]
    field_cols = (
        [i for i in range(len(names)) if i not in (number_col, name_col)] if columns.fields else []
    )
    contacts: list[Contact] = []
    problems: list[str] = []
    for line, row in rows:
        cells = [c.strip() for c in row]
        if len(cells) <= number_col or not cells[number_col]:
            problems.append(f"line {line}: no number")
            continue
        try:
            digits = normalize_phone(cells[number_col], "number")
        except CampaignError:
            problems.append(f"line {line}: {cells[number_col]!r} is not a phone number")
            continue
        name = cells[name_col] if name_col is not None and name_col < len(cells) else ""
        fields = {names[i]: (cells[i] if i < len(cells) else "") for i in field_cols if names[i]}
        contacts.append(Contact(name, digits, fields))
    if problems:
        more = (
            f" (and {len(problems) - MAX_PROBLEMS_NAMED} more)"
            if len(problems) > MAX_PROBLEMS_NAMED
            else ""
        )
        raise CampaignError(
            f"{path.name}: nothing imported; " + "; ".join(problems[:MAX_PROBLEMS_NAMED]) + more
        )
    if not contacts:
        raise CampaignError(f"{path.name}: no contacts in the file")
    return contacts
