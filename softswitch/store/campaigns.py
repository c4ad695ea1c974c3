"""Campaigns: one table for CPaaS campaign-manager and JAICP Calls API campaigns."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from softswitch.campaigns.model import Campaign, CampaignStatus

from .engine import Database

_JSON = ("retry_on", "voice", "flow")
_COLUMNS = tuple(f.name for f in fields(Campaign))


def _row(campaign: Campaign) -> list[Any]:
    values: list[Any] = []
    for name in _COLUMNS:
        value = getattr(campaign, name)
        if name in _JSON:
            value = (
                None if value is None else json.dumps(list(value) if name == "retry_on" else value)
            )
        elif name == "status":
            value = value.value
        elif name == "dynamic_announcement":
            value = int(value)
        values.append(value)
    return values


def _campaign(row: Any) -> Campaign:
    data = dict(zip(_COLUMNS, row, strict=False))
    for name in _JSON:
        if data[name] is not None:
            data[name] = json.loads(data[name])
    data["retry_on"] = tuple(data["retry_on"])
    data["status"] = CampaignStatus(data["status"])
    data["dynamic_announcement"] = bool(data["dynamic_announcement"])
    return Campaign(**data)


class CampaignStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._select = f"SELECT {', '.join(_COLUMNS)} FROM campaigns"

    def create(self, campaign: Campaign) -> None:
        marks = ",".join("?" * len(_COLUMNS))
        self.db.execute(
            f"INSERT INTO campaigns ({', '.join(_COLUMNS)}) VALUES ({marks})", _row(campaign)
        )

    def get(self, campaign_id: str) -> Campaign | None:
        row = self.db.execute(f"{self._select} WHERE id = ?", [campaign_id]).fetchone()
        return _campaign(row) if row else None

    def of_account(self, account_id: str) -> list[Campaign]:
        rows = self.db.execute(
            f"{self._select} WHERE account_id = ? ORDER BY created_at, id", [account_id]
        )
        return [_campaign(row) for row in rows]

    def name_taken(self, account_id: str, name: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM campaigns WHERE account_id = ? AND name = ? AND status != ?",
            [account_id, name, CampaignStatus.DELETED.value],
        ).fetchone()
        return row is not None

    def with_status(self, *statuses: CampaignStatus) -> list[Campaign]:
        marks = ",".join("?" * len(statuses))
        rows = self.db.execute(
            f"{self._select} WHERE status IN ({marks}) ORDER BY created_at, id",
            [s.value for s in statuses],
        )
        return [_campaign(row) for row in rows]

    def set_status(
        self,
        campaign_id: str,
        status: CampaignStatus,
        *,
        expect: tuple[CampaignStatus, ...] = (),
        stopped_at: float | None = None,
        start_at: float | None = None,
    ) -> bool:
        """Change the status; with `expect`, only from one of those (returns False if not)."""
        sets: list[str] = ["status = ?"]
        args: list[Any] = [status.value]
        if stopped_at is not None:
            sets.append("stopped_at = ?")
            args.append(stopped_at)
        if start_at is not None:
            sets.append("start_at = ?")
            args.append(start_at)
        where, wargs = "id = ?", [campaign_id]
        if expect:
            where += f" AND status IN ({','.join('?' * len(expect))})"
            wargs += [s.value for s in expect]
        cursor = self.db.execute(
            f"UPDATE campaigns SET {', '.join(sets)} WHERE {where}", [*args, *wargs]
        )
        return cursor.rowcount == 1
