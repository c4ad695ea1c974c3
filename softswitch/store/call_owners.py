"""Which node of a cluster holds each live channel a client may control (modify_call):
a row per channel, written when the channel joins a call, removed when it hangs up.

Another node that gets an API request for a channel it does not hold reads the owner
here and forwards the request to the owner's API (softswitch.cluster.forwarding).
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine import Database


@dataclass(frozen=True, slots=True)
class Owner:
    node_id: str
    node_url: str  # the node's API, e.g. "http://10.0.0.11:8080"


class CallOwners:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, account_id: str, channel: str, owner: Owner, started_at: float) -> None:
        self.db.execute(
            "INSERT INTO call_owners (account_id, channel, node_id, node_url, started_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, channel) DO UPDATE SET"
            " node_id = excluded.node_id, node_url = excluded.node_url,"
            " started_at = excluded.started_at",
            [account_id, channel, owner.node_id, owner.node_url, started_at],
        )

    def release(self, account_id: str, channel: str, node_id: str) -> None:
        """Forget the row, if it is still this node's (a name reused elsewhere stays)."""
        self.db.execute(
            "DELETE FROM call_owners WHERE account_id = ? AND channel = ? AND node_id = ?",
            [account_id, channel, node_id],
        )

    def owner(self, account_id: str, channel: str) -> Owner | None:
        row = self.db.execute(
            "SELECT node_id, node_url FROM call_owners WHERE account_id = ? AND channel = ?",
            [account_id, channel],
        ).fetchone()
        return Owner(str(row[0]), str(row[1])) if row else None

    def forget_node(self, node_id: str) -> int:
        """Drop every row of a node that is gone (or of this one, starting afresh)."""
        cursor = self.db.execute("DELETE FROM call_owners WHERE node_id = ?", [node_id])
        return cursor.rowcount
