"""0004: switch nodes behind a Kamailio front door (issue 14, the cluster).

- `bindings.path`: the Path (RFC 3327) a registration came with, "" for none
  (store/binding_paths.py);
- `call_owners`: which node holds each live channel a client may control, so any node's
  API can forward a command to it (store/call_owners.py).
"""

from __future__ import annotations

from ..engine import Database

TABLES = (
    """CREATE TABLE IF NOT EXISTS call_owners (
        account_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        node_id TEXT NOT NULL,
        node_url TEXT NOT NULL,
        started_at REAL NOT NULL,
        PRIMARY KEY (account_id, channel)
    )""",
    "CREATE INDEX IF NOT EXISTS call_owners_node ON call_owners (node_id)",
)


def up(db: Database) -> None:
    if "path" not in db.columns("bindings"):
        db.execute_ddl("ALTER TABLE bindings ADD COLUMN path TEXT NOT NULL DEFAULT ''")
    for statement in TABLES:
        db.execute_ddl(statement)
