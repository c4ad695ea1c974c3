"""0003: answering-machine detection (issue 15).

- `cdrs.answered_by` and `attempts.answered_by`: who answered (Twilio's AnsweredBy
  values, `''` when detection was off);
- `campaigns.amd`: the campaign's detection mode (`off`, `detect`, `leave_message`).
"""

from __future__ import annotations

from ..engine import Database

COLUMNS = (
    ("cdrs", "answered_by", "TEXT NOT NULL DEFAULT ''"),
    ("attempts", "answered_by", "TEXT NOT NULL DEFAULT ''"),
    ("campaigns", "amd", "TEXT NOT NULL DEFAULT 'off'"),
)


def up(db: Database) -> None:
    for table, column, declaration in COLUMNS:
        if column not in db.columns(table):
            db.execute_ddl(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
