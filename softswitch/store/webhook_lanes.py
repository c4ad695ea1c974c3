"""Which node delivers each account's webhooks: a lease per account's lane.

With N switch nodes on one store, every node's delivery worker sees every account's
pending events. A worker opens an account's lane only once it holds the account's lease
(an upsert that succeeds when nobody holds it, the holder is this node, or the holder's
lease expired), renews the leases of its open lanes on each pass and drops a lease when
its lane ends. So one node at a time posts an account's events, in order, and each event
once; a node that dies loses its lanes after the lease, and the event it was posting when
it died may be posted again by the next holder (delivery stays at least once: receivers
de-duplicate on the event's id).
"""

from __future__ import annotations

from collections.abc import Iterable

from .engine import Database


class WebhookLanes:
    def __init__(self, db: Database) -> None:
        self.db = db

    def take(self, account_id: str, node: str, now: float, expires_at: float) -> bool:
        """The account's lane for `node` until `expires_at`; False while another node
        holds an unexpired lease on it."""
        cursor = self.db.execute(
            "INSERT INTO webhook_lanes (account_id, node, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (account_id) DO UPDATE SET node = excluded.node,"
            " expires_at = excluded.expires_at"
            " WHERE webhook_lanes.node = excluded.node OR webhook_lanes.expires_at <= ?",
            [account_id, node, expires_at, now],
        )
        return cursor.rowcount == 1

    def renew(self, node: str, account_ids: Iterable[str], expires_at: float) -> int:
        """Push the expiry of `node`'s leases on these lanes; returns how many it holds."""
        ids = list(account_ids)
        held = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            held += self.db.execute(
                "UPDATE webhook_lanes SET expires_at = ?"
                f" WHERE node = ? AND account_id IN ({marks})",
                [expires_at, node, *chunk],
            ).rowcount
        return held

    def release(self, account_id: str, node: str) -> None:
        self.db.execute(
            "DELETE FROM webhook_lanes WHERE account_id = ? AND node = ?", [account_id, node]
        )

    def holder(self, account_id: str) -> tuple[str, float] | None:
        row = self.db.execute(
            "SELECT node, expires_at FROM webhook_lanes WHERE account_id = ?", [account_id]
        ).fetchone()
        return (str(row[0]), float(row[1])) if row else None
