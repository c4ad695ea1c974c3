"""Per-extension call forwarding and do-not-disturb (set by feature code, the admin API
or seeded from ``[[extensions]]``)."""

from __future__ import annotations

from dataclasses import dataclass

from .engine import Database

DEFAULT_NO_ANSWER_SECONDS = 20

_COLUMNS = "forward_always, forward_busy, forward_no_answer, no_answer_seconds, dnd"


@dataclass(slots=True)
class CallFeatures:
    """One extension's settings; "" = that forwarding is off."""

    forward_always: str = ""
    forward_busy: str = ""
    forward_no_answer: str = ""
    no_answer_seconds: int = DEFAULT_NO_ANSWER_SECONDS
    dnd: bool = False


class CallFeatureStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, extension: str) -> CallFeatures:
        """The extension's settings (all off when it never had any)."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM call_features WHERE extension = ?", [extension]
        ).fetchone()
        if row is None:
            return CallFeatures()
        always, busy, no_answer, seconds, dnd = row
        return CallFeatures(always, busy, no_answer, seconds, bool(dnd))

    def put(self, extension: str, features: CallFeatures) -> None:
        self._write(
            extension,
            features,
            "DO UPDATE SET forward_always = excluded.forward_always,"
            " forward_busy = excluded.forward_busy, forward_no_answer = excluded.forward_no_answer,"
            " no_answer_seconds = excluded.no_answer_seconds, dnd = excluded.dnd",
        )

    def seed(self, extension: str, features: CallFeatures) -> None:
        """Store ``features`` unless the extension has settings already: the config
        file gives the first values, the phone and the API change them for good."""
        self._write(extension, features, "DO NOTHING")

    def _write(self, extension: str, features: CallFeatures, conflict: str) -> None:
        self.db.execute(
            f"INSERT INTO call_features (extension, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
            f" ON CONFLICT (extension) {conflict}",
            [
                extension,
                features.forward_always,
                features.forward_busy,
                features.forward_no_answer,
                features.no_answer_seconds,
                int(features.dnd),
            ],
        )

    def delete_except(self, extensions: list[str]) -> None:
        """Forget the settings of extensions that no longer exist."""
        marks = ", ".join("?" * len(extensions))
        self.db.execute(f"DELETE FROM call_features WHERE extension NOT IN ({marks})", extensions)
