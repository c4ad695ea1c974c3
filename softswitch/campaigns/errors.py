"""What a campaign operation refuses, said in the switch's terms.

The APIs shape it: api.calls builds the JAICP error body and status from the kind,
api.cpaas the CPaaS envelope. The kind is what went wrong, not an HTTP status.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID = "invalid"  # the request itself is wrong
    NOT_FOUND = "not_found"  # a campaign, list, flow or file it names does not exist
    BAD_TOKEN = "bad_token"  # a Calls API token that opens nothing
    CLOSED = "closed"  # the campaign is finished (or deleted)
    NOT_PAUSED = "not_paused"  # resume of a campaign that is not paused
    DUPLICATED = "duplicated"  # numbers already added (`duplicates` names them)


class CampaignError(Exception):
    """A request a campaign cannot take. `field` names the part of the request at fault;
    `duplicates` lists the numbers of a DUPLICATED error, the latest first."""

    def __init__(
        self,
        message: str,
        kind: ErrorKind = ErrorKind.INVALID,
        *,
        field: str | None = None,
        duplicates: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.field = field
        self.duplicates = list(duplicates)
