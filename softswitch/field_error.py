"""`FieldError`: input the run-time management refuses (extensions, trunks), naming the
field at fault so that the admin API, the CLI and the console can say which one."""

from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    """Why: the admin API maps these onto HTTP statuses (400, 404, 409)."""

    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"


class FieldError(ValueError):
    def __init__(self, field: str, message: str, refusal: Refusal = Refusal.INVALID) -> None:
        # field "": the message names it already (a config check's)
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.refusal = refusal
