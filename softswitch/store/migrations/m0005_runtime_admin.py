"""0005: extensions and trunks managed at run time (issue 17).

- `extension_settings`: each extension's display name, account, outside caller ID,
  device limit, codecs, transports and voicemail switch (store/extension_settings.py);
- `trunks`: each trunk's settings as JSON, seeded from `[[trunks]]` and changed through
  the admin API (store/trunks.py).
"""

from __future__ import annotations

from ..engine import Database

TABLES = (
    """CREATE TABLE IF NOT EXISTS extension_settings (
        number TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        account TEXT NOT NULL,
        outside_caller_id TEXT NOT NULL,
        max_devices INTEGER NOT NULL,
        codecs TEXT NOT NULL,
        transports TEXT NOT NULL,
        voicemail INTEGER NOT NULL,
        updated_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS trunks (
        name TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        source TEXT NOT NULL,
        updated_at REAL NOT NULL
    )""",
)


def up(db: Database) -> None:
    for statement in TABLES:
        db.execute_ddl(statement)
