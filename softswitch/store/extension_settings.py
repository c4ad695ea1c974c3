"""Extensions as the switch's source of truth: each extension's credentials (the
``extensions`` table the `Store` declares: digest HA1s only, never a password) and its
settings (``extension_settings``: display name, account, outside caller ID, devices,
codecs, transports, voicemail), written together in one transaction so that nothing is
ever half made or half removed.

Lists (codecs, transports) are kept as comma-separated TEXT and booleans as INTEGER 0/1,
so the SQL is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .database import Extension, transaction
from .engine import Database

_COLUMNS = "name, account, outside_caller_id, max_devices, codecs, transports, voicemail"

DEFAULT_MAX_DEVICES = 8  # softswitch.forking.MAX_FORKS: as many as a call can ring


@dataclass(slots=True)
class ExtensionSettings:
    """One extension's settings. Empty ``codecs`` / ``transports`` = any the switch has."""

    name: str = ""
    account: str = ""  # the CPaaS account it belongs to ("" = none)
    outside_caller_id: str = ""  # caller ID on calls out through a trunk ("" = its number)
    max_devices: int = DEFAULT_MAX_DEVICES
    codecs: list[str] = field(default_factory=list)  # e.g. ["PCMA"]
    transports: list[str] = field(default_factory=list)  # e.g. ["TLS"]
    voicemail: bool = False


@dataclass(slots=True)
class ExtensionRecord:
    """What the store keeps of an extension (the admin API's and the CLI's listing)."""

    number: str
    source: str  # "config" | "generated" | "api"
    settings: ExtensionSettings


def _join(items: list[str]) -> str:
    return ",".join(items)


def _split(text: str) -> list[str]:
    return [item for item in text.split(",") if item]


def _settings(row: tuple[object, ...]) -> ExtensionSettings:
    name, account, caller_id, devices, codecs, transports, voicemail = row
    return ExtensionSettings(
        str(name),
        str(account),
        str(caller_id),
        int(devices),  # type: ignore[call-overload]
        _split(str(codecs)),
        _split(str(transports)),
        bool(voicemail),
    )


class ExtensionSettingsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, number: str) -> ExtensionSettings | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM extension_settings WHERE number = ?", [number]
        ).fetchone()
        return _settings(row) if row else None

    def records(self) -> list[ExtensionRecord]:
        """Every extension with its settings (defaults for one that has none), by number."""
        rows = self.db.execute(
            "SELECT e.number, e.source, s.name, s.account, s.outside_caller_id, s.max_devices,"
            " s.codecs, s.transports, s.voicemail FROM extensions e"
            " LEFT JOIN extension_settings s ON s.number = e.number ORDER BY e.number"
        )
        found = []
        for number, source, *rest in rows:
            settings = _settings(tuple(rest)) if rest[0] is not None else ExtensionSettings()
            found.append(ExtensionRecord(number, source, settings))
        return found

    def record(self, number: str) -> ExtensionRecord | None:
        return next((r for r in self.records() if r.number == number), None)

    def put(self, number: str, settings: ExtensionSettings) -> None:
        self.db.execute(
            f"INSERT INTO extension_settings (number, {_COLUMNS}, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET"
            " name = excluded.name, account = excluded.account,"
            " outside_caller_id = excluded.outside_caller_id,"
            " max_devices = excluded.max_devices, codecs = excluded.codecs,"
            " transports = excluded.transports, voicemail = excluded.voicemail,"
            " updated_at = excluded.updated_at",
            [
                number,
                settings.name,
                settings.account,
                settings.outside_caller_id,
                settings.max_devices,
                _join(settings.codecs),
                _join(settings.transports),
                int(settings.voicemail),
                time.time(),
            ],
        )

    def put_credentials(self, extension: Extension) -> None:
        self.db.execute(
            "INSERT INTO extensions (number, ha1_md5, ha1_sha256, source) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (number) DO UPDATE SET ha1_md5 = excluded.ha1_md5,"
            " ha1_sha256 = excluded.ha1_sha256",
            [extension.number, extension.ha1_md5, extension.ha1_sha256, extension.source],
        )

    def create(self, extension: Extension, settings: ExtensionSettings) -> bool:
        """A new extension with its settings, in one transaction; False if the number
        is taken (nothing written then)."""
        with transaction(self.db):
            taken = self.db.execute(
                "SELECT 1 FROM extensions WHERE number = ?", [extension.number]
            ).fetchone()
            if taken:
                return False
            self.put_credentials(extension)
            self.put(extension.number, settings)
        return True

    def delete(self, number: str) -> bool:
        """The extension, its settings, registrations and call features, all or nothing."""
        with transaction(self.db):
            gone = self.db.execute("DELETE FROM extensions WHERE number = ?", [number]).rowcount
            self.db.execute("DELETE FROM extension_settings WHERE number = ?", [number])
            self.db.execute("DELETE FROM bindings WHERE aor = ?", [number])
            self.db.execute("DELETE FROM call_features WHERE extension = ?", [number])
        return bool(gone)
