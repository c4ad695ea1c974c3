"""The nodes of a cluster that are up: a row per node, its API address and when it last
said so. Each node writes its row every few seconds (softswitch.cluster.listing) and
removes it when it stops; a row not written for a while is a node that has gone."""

from __future__ import annotations

from .call_owners import Owner
from .engine import Database


class ClusterNodes:
    def __init__(self, db: Database) -> None:
        self.db = db

    def beat(self, node: Owner, now: float) -> None:
        self.db.execute(
            "INSERT INTO cluster_nodes (node_id, node_url, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (node_id) DO UPDATE SET node_url = excluded.node_url,"
            " seen_at = excluded.seen_at",
            [node.node_id, node.node_url, now],
        )

    def alive(self, since: float) -> list[Owner]:
        """The nodes heard from at ``since`` or later, by id."""
        rows = self.db.execute(
            "SELECT node_id, node_url FROM cluster_nodes WHERE seen_at >= ? ORDER BY node_id",
            [since],
        ).fetchall()
        return [Owner(str(node_id), str(url)) for node_id, url in rows]

    def leave(self, node_id: str) -> None:
        self.db.execute("DELETE FROM cluster_nodes WHERE node_id = ?", [node_id])
