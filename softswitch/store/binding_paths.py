"""The Path (RFC 3327) each registration came with: the proxies a request to the
phone goes through (the Kamailio front door of a cluster), kept beside its binding.

A column of the core's `bindings` table (`path`, "" when the REGISTER had none; migration
0004): the switch reads it only when it runs behind a front door.
"""

from __future__ import annotations

from .engine import Database

Key = tuple[str, str]  # (aor, contact): one binding


class BindingPaths:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, aor: str, contact: str, path: str) -> None:
        """Set the binding's Path (its Route set, comma separated; "" for none)."""
        self.db.execute(
            "UPDATE bindings SET path = ? WHERE aor = ? AND contact = ?", [path, aor, contact]
        )

    def of(self, aor: str) -> dict[str, str]:
        """The non-empty Paths of an AOR's bindings, by contact."""
        rows = self.db.execute(
            "SELECT contact, path FROM bindings WHERE aor = ? AND path <> ''", [aor]
        )
        return {str(contact): str(path) for contact, path in rows}

    def get(self, aor: str, contact: str) -> str:
        row = self.db.execute(
            "SELECT path FROM bindings WHERE aor = ? AND contact = ?", [aor, contact]
        ).fetchone()
        return str(row[0]) if row else ""
