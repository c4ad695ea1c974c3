"""Webhooks: each account's status_callback URL and secret, the outbox of events, and
every delivery attempt.

An event is a row of ``webhook_events`` written in the transaction that records the fact
it tells (a CDR, a job's status, ...), so a crash loses none; the delivery worker
(softswitch.webhooks.delivery) sends the oldest pending event of each account first
(``seq`` orders them) and records each attempt in ``webhook_attempts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .database import transaction
from .engine import Database


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not delivered yet: due now or after a back-off
    DELIVERED = "delivered"  # a 2xx answered it
    FAILED = "failed"  # retried for the whole retry period, or nowhere to send it


@dataclass(slots=True)
class WebhookSettings:
    account_id: str
    url: str  # "" = no events are recorded for the account
    secret: str
    updated_at: float


@dataclass(slots=True)
class Attempt:
    number: int
    at: float
    status_code: int | None  # None: no answer (refused, timed out)
    error: str
    duration: float


@dataclass(slots=True)
class OutboxEvent:
    seq: int
    id: str
    account_id: str
    type: str
    request_id: str
    created_at: float
    body: str  # the JSON posted, as written when the fact was recorded
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float
    finished_at: float | None
    tried: list[Attempt] = field(default_factory=list)


_EVENT = (
    "seq, id, account_id, type, request_id, created_at, body, status, attempts,"
    " next_attempt_at, finished_at"
)


def _event(row: tuple[Any, ...]) -> OutboxEvent:
    event = OutboxEvent(*row)
    event.status = DeliveryStatus(event.status)
    return event


class WebhookStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- settings -----------------------------------------------------------

    def settings(self, account_id: str) -> WebhookSettings | None:
        row = self.db.execute(
            "SELECT account_id, url, secret, updated_at FROM webhook_settings WHERE account_id = ?",
            [account_id],
        ).fetchone()
        return WebhookSettings(*row) if row else None

    def put_settings(self, settings: WebhookSettings) -> None:
        self.db.execute(
            "INSERT INTO webhook_settings (account_id, url, secret, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET url = excluded.url,"
            " secret = excluded.secret, updated_at = excluded.updated_at",
            [settings.account_id, settings.url, settings.secret, settings.updated_at],
        )

    def url(self, account_id: str) -> str:
        """The account's status_callback, "" when it has none (no event is recorded)."""
        row = self.db.execute(
            "SELECT url FROM webhook_settings WHERE account_id = ?", [account_id]
        ).fetchone()
        return row[0] if row else ""

    # -- the outbox -----------------------------------------------------------

    def add(
        self,
        event_id: str,
        account_id: str,
        type_: str,
        request_id: str,
        created_at: float,
        body: str,
    ) -> int:
        """Queue one event, due at once; returns its sequence number."""
        seq = self.db.execute(
            "INSERT INTO webhook_events (id, account_id, type, request_id, created_at, body,"
            " status, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
            [
                event_id,
                account_id,
                type_,
                request_id,
                created_at,
                body,
                DeliveryStatus.PENDING,
                created_at,
            ],
        ).scalar()
        return int(seq)

    def pending_accounts(self) -> list[str]:
        """Accounts with events to deliver: one index seek per account (a loose index
        scan), however long the backlog."""
        return [
            row[0]
            for row in self.db.execute(
                "WITH RECURSIVE a(account_id) AS ("
                " SELECT MIN(account_id) FROM webhook_events WHERE status = ?"
                " UNION ALL SELECT (SELECT MIN(account_id) FROM webhook_events"
                " WHERE status = ? AND account_id > a.account_id)"
                " FROM a WHERE a.account_id IS NOT NULL)"
                " SELECT account_id FROM a WHERE account_id IS NOT NULL",
                [DeliveryStatus.PENDING.value, DeliveryStatus.PENDING.value],
            )
        ]

    def next_pending(self, account_id: str, limit: int = 50) -> list[OutboxEvent]:
        """The account's oldest pending events, in the order they were recorded."""
        rows = self.db.execute(
            f"SELECT {_EVENT} FROM webhook_events WHERE account_id = ? AND status = ?"
            " ORDER BY seq LIMIT ?",
            [account_id, DeliveryStatus.PENDING, limit],
        )
        return [_event(row) for row in rows]

    def record_attempt(
        self,
        event: OutboxEvent,
        attempt: Attempt,
        status: DeliveryStatus,
        next_attempt_at: float,
    ) -> None:
        """One delivery attempt and where it leaves the event, together."""
        finished = attempt.at + attempt.duration if status is not DeliveryStatus.PENDING else None
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO webhook_attempts (event_seq, number, at, status_code, error,"
                " duration) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    event.seq,
                    attempt.number,
                    attempt.at,
                    attempt.status_code,
                    attempt.error,
                    attempt.duration,
                ],
            )
            self.db.execute(
                "UPDATE webhook_events SET status = ?, attempts = ?, next_attempt_at = ?,"
                " finished_at = ? WHERE seq = ?",
                [status, attempt.number, next_attempt_at, finished, event.seq],
            )
        event.status, event.attempts = status, attempt.number
        event.next_attempt_at, event.finished_at = next_attempt_at, finished

    def give_up(self, event: OutboxEvent, now: float, reason: str) -> None:
        """Fail an event without sending it (its account has no status_callback now)."""
        self.record_attempt(
            event, Attempt(event.attempts + 1, now, None, reason, 0.0), DeliveryStatus.FAILED, now
        )

    def listing(
        self,
        account_id: str,
        status: DeliveryStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[OutboxEvent], int]:
        """A page of the account's events, newest first, each with its attempts; and how
        many there are in all."""
        where, args = "account_id = ?", [account_id]
        if status is not None:
            where += " AND status = ?"
            args.append(status)
        total = self.db.execute(
            f"SELECT COUNT(*) FROM webhook_events WHERE {where}", args
        ).fetchone()[0]
        events = [
            _event(row)
            for row in self.db.execute(
                f"SELECT {_EVENT} FROM webhook_events WHERE {where}"
                " ORDER BY seq DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            )
        ]
        by_seq = {e.seq: e for e in events}
        if by_seq:
            marks = ",".join("?" for _ in by_seq)
            for row in self.db.execute(
                "SELECT event_seq, number, at, status_code, error, duration FROM webhook_attempts"
                f" WHERE event_seq IN ({marks}) ORDER BY event_seq, number",
                list(by_seq),
            ):
                by_seq[row[0]].tried.append(Attempt(*row[1:]))
        return events, int(total)

    def event(self, event_id: str) -> OutboxEvent | None:
        row = self.db.execute(
            f"SELECT {_EVENT} FROM webhook_events WHERE id = ?", [event_id]
        ).fetchone()
        return _event(row) if row else None

    def purge(self, before: float, limit: int = 5000) -> int:
        """Forget up to ``limit`` settled events (and their attempts) recorded before
        ``before``; returns how many. Pending events are kept whatever their age."""
        with transaction(self.db):
            seqs = [
                row[0]
                for row in self.db.execute(
                    "SELECT seq FROM webhook_events WHERE created_at < ? AND status != ?"
                    " ORDER BY created_at LIMIT ?",
                    [before, DeliveryStatus.PENDING, limit],
                )
            ]
            if seqs:
                marks = ",".join("?" for _ in seqs)
                self.db.execute(f"DELETE FROM webhook_attempts WHERE event_seq IN ({marks})", seqs)
                self.db.execute(f"DELETE FROM webhook_events WHERE seq IN ({marks})", seqs)
        return len(seqs)

    def backlog(self) -> int:
        """Events not delivered yet (for /metrics)."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM webhook_events WHERE status = ?", [DeliveryStatus.PENDING]
        ).fetchone()
        return int(row[0])
