"""Scheduled click2calls (the `/api/callback` endpoint), kept until they have fired.

A callback moves pending -> firing -> done | failed, or pending -> missed. The move to
``firing`` is a conditional UPDATE, so of several schedulers (or a scheduler and an API
request deleting the callback) exactly one wins: with N switch nodes on one store, a
callback fires once cluster-wide. The claim is a lease: it names the node, and placing
the call takes milliseconds, so a callback still firing `lease` seconds after its claim
was caught by its node's death (as one of this node's own is after a restart).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .engine import Database


class CallbackStatus(StrEnum):
    PENDING = "pending"
    FIRING = "firing"  # being placed
    DONE = "done"
    FAILED = "failed"
    MISSED = "missed"  # due while the switch was down


@dataclass(slots=True)
class Callback:
    request_id: str
    account_id: str
    agent_number: str
    destination_number: str
    caller_id: str
    recording_option: str  # both | agent | customer | off
    transcript: bool
    time_zone: str  # IANA zone of scheduled_at
    scheduled_at: str  # "YYYY-mm-dd hh:mm:ss" in time_zone, as the client gave it
    due_at: float  # the same instant, unix time
    status: CallbackStatus = CallbackStatus.PENDING
    created_at: float = 0.0
    fired_at: float | None = None
    error: str = ""


_NAMES = (
    "request_id, account_id, agent_number, destination_number, caller_id, "
    "recording_option, transcript, time_zone, scheduled_at, due_at, status, "
    "created_at, fired_at, error"
)


def _callback(row: tuple[Any, ...]) -> Callback:
    item = Callback(*row)
    item.transcript = bool(item.transcript)
    item.status = CallbackStatus(item.status)
    return item


class CallbackStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, cb: Callback) -> None:
        self.db.execute(
            f"INSERT INTO callbacks ({_NAMES}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                cb.request_id,
                cb.account_id,
                cb.agent_number,
                cb.destination_number,
                cb.caller_id,
                cb.recording_option,
                int(cb.transcript),
                cb.time_zone,
                cb.scheduled_at,
                cb.due_at,
                cb.status,
                cb.created_at,
                cb.fired_at,
                cb.error,
            ],
        )

    def get(self, account_id: str, request_id: str) -> Callback | None:
        row = self.db.execute(
            f"SELECT {_NAMES} FROM callbacks WHERE request_id = ? AND account_id = ?",
            [request_id, account_id],
        ).fetchone()
        return _callback(row) if row else None

    def all(self, account_id: str) -> list[Callback]:
        rows = self.db.execute(
            f"SELECT {_NAMES} FROM callbacks WHERE account_id = ? ORDER BY due_at, request_id",
            [account_id],
        )
        return [_callback(row) for row in rows]

    def update_pending(self, cb: Callback) -> bool:
        """Replace a still-pending callback's call details and time; False if it is not."""
        cursor = self.db.execute(
            "UPDATE callbacks SET agent_number = ?, destination_number = ?, caller_id = ?,"
            " recording_option = ?, transcript = ?, time_zone = ?, scheduled_at = ?, due_at = ?"
            " WHERE request_id = ? AND account_id = ? AND status = ?",
            [
                cb.agent_number,
                cb.destination_number,
                cb.caller_id,
                cb.recording_option,
                int(cb.transcript),
                cb.time_zone,
                cb.scheduled_at,
                cb.due_at,
                cb.request_id,
                cb.account_id,
                CallbackStatus.PENDING,
            ],
        )
        return cursor.rowcount == 1

    def delete_pending(self, account_id: str, request_id: str) -> bool:
        cursor = self.db.execute(
            "DELETE FROM callbacks WHERE request_id = ? AND account_id = ? AND status = ?",
            [request_id, account_id, CallbackStatus.PENDING],
        )
        return cursor.rowcount == 1

    def due(self, now: float, limit: int = 100) -> list[Callback]:
        rows = self.db.execute(
            f"SELECT {_NAMES} FROM callbacks WHERE status = ? AND due_at <= ?"
            " ORDER BY due_at LIMIT ?",
            [CallbackStatus.PENDING, now, limit],
        )
        return [_callback(row) for row in rows]

    def next_due_at(self) -> float | None:
        row = self.db.execute(
            "SELECT MIN(due_at) FROM callbacks WHERE status = ?", [CallbackStatus.PENDING]
        ).fetchone()
        return row[0] if row else None

    def claim(self, request_id: str, now: float, node: str = "") -> bool:
        cursor = self.db.execute(
            "UPDATE callbacks SET status = ?, fired_at = ?, node = ?"
            " WHERE request_id = ? AND status = ?",
            [CallbackStatus.FIRING, now, node, request_id, CallbackStatus.PENDING],
        )
        return cursor.rowcount == 1

    def finish(self, request_id: str, status: CallbackStatus, error: str = "") -> None:
        self.db.execute(
            "UPDATE callbacks SET status = ?, error = ? WHERE request_id = ?",
            [status, error, request_id],
        )

    def mark_missed(self, before: float) -> list[str]:
        """Pending callbacks due before ``before``: marked missed, their ids returned."""
        ids = [
            row[0]
            for row in self.db.execute(
                "SELECT request_id FROM callbacks WHERE status = ? AND due_at < ?",
                [CallbackStatus.PENDING, before],
            )
        ]
        for request_id in ids:
            self.db.execute(
                "UPDATE callbacks SET status = ?, error = ? WHERE request_id = ? AND status = ?",
                [
                    CallbackStatus.MISSED,
                    "due while the switch was down",
                    request_id,
                    CallbackStatus.PENDING,
                ],
            )
        return ids

    def stale_firing(self, before: float, node: str | None = None) -> list[str]:
        """Callbacks caught between claim and placing the call by a crash: claimed before
        `before` (their node's lease is over), or by `node` (restarted) or by a node
        that did not say which it was."""
        mine = ""
        args: list[Any] = [CallbackStatus.FIRING, before]
        if node is not None:
            mine = " OR node = ? OR node = ''"
            args.append(node)
        return [
            row[0]
            for row in self.db.execute(
                "SELECT request_id FROM callbacks WHERE status = ?"
                f" AND (fired_at IS NULL OR fired_at <= ?{mine})",
                args,
            )
        ]

    def fail_stale(self, request_id: str, error: str) -> bool:
        """Mark a callback found stale failed, unless its node finished it meanwhile."""
        cursor = self.db.execute(
            "UPDATE callbacks SET status = ?, error = ? WHERE request_id = ? AND status = ?",
            [CallbackStatus.FAILED, error, request_id, CallbackStatus.FIRING],
        )
        return cursor.rowcount == 1
