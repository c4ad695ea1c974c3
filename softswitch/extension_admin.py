"""Extensions managed while the switch runs: add (a generated password, shown once),
change settings, reset the password, remove. What the admin API, the CLI (through the
API) and the console call.

Every write is checked whole before anything is written (`FieldError` naming the field)
and written in one transaction (softswitch.store.extension_settings). The switch reads
the store on each REGISTER and call, so a change takes effect at once, with no restart
and no live call touched.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from . import feature_codes
from .field_error import FieldError, Refusal
from .forking import MAX_FORKS
from .numbers import did_key
from .sip.auth import ha1
from .sip.sdp import SUPPORTED_CODECS
from .store import Extension, Store
from .store.extension_settings import ExtensionRecord, ExtensionSettings, ExtensionSettingsStore
from .voicemail.access import ACCESS_CODE as VOICEMAIL_ACCESS

log = logging.getLogger("softswitch.extensions")

TRANSPORTS = ("UDP", "TCP", "TLS")
MAX_NUMBER_DIGITS = 20
MAX_NAME = 64
_ACCOUNT = re.compile(r"^[A-Za-z0-9_.-]{0,64}$")


def new_password() -> str:
    return secrets.token_urlsafe(12)


def credentials(number: str, password: str, realm: str, source: str) -> Extension:
    # Only the digest HA1s are kept: the password itself is never stored.
    return Extension(
        number, ha1(number, realm, password, "MD5"), ha1(number, realm, password, "SHA-256"), source
    )


def check_number(number: object) -> str:
    """An extension number: digits, and no feature code (FieldError on ``number``)."""
    if not isinstance(number, str):
        raise FieldError("number", "must be a string of digits")
    codes = [entry.code for entry in feature_codes.CODES] + [VOICEMAIL_ACCESS]
    if any(number.startswith(code) for code in codes):
        raise FieldError("number", f"{number} is a feature code", Refusal.CONFLICT)
    if not (number.isdigit() and number.isascii() and 1 <= len(number) <= MAX_NUMBER_DIGITS):
        raise FieldError("number", f"must be 1 to {MAX_NUMBER_DIGITS} digits")
    return number


def _names(value: object, key: str, allowed: tuple[str, ...]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(key, f"must be a list of {', '.join(allowed)}")
    names = [v.upper() for v in value]
    unknown = [v for v in names if v not in allowed]
    if unknown:
        raise FieldError(key, f"{unknown[0]} is not one of {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def settings_with(base: ExtensionSettings, changes: Mapping[str, Any]) -> ExtensionSettings:
    """``base`` with ``changes`` (the API's and the config's keys) applied and checked;
    FieldError naming the first wrong field."""
    known = {f.name for f in fields(ExtensionSettings)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise FieldError(unknown[0], "unknown field")
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key in ("name", "account", "outside_caller_id"):
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise FieldError(key, "must be a string")
        if key == "name" and (len(value) > MAX_NAME or not value.isprintable()):
            raise FieldError(key, f"must be at most {MAX_NAME} printable characters")
        if key == "account" and not _ACCOUNT.match(value):
            raise FieldError(key, "must be letters, digits, '_', '.' and '-', at most 64")
        if key == "outside_caller_id" and value:
            digits = value.removeprefix("+")
            if not (digits.isdigit() and digits.isascii() and len(value) <= 32):
                raise FieldError(key, "must be digits (an optional leading +), at most 32")
        if key == "max_devices" and (
            not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_FORKS
        ):
            raise FieldError(key, f"must be an integer from 1 to {MAX_FORKS}")
        if key == "codecs":
            value = _names(value, key, tuple(SUPPORTED_CODECS))
        if key == "transports":
            value = _names(value, key, TRANSPORTS)
        if key == "voicemail" and not isinstance(value, bool):
            raise FieldError(key, "must be true or false")
        out[key] = value
    return replace(base, **out)


@dataclass(slots=True)
class Neighbours:
    """What an extension number must not clash with, as lookups."""

    did: Callable[[str], bool]  # an inbound number (DID) of any account
    room: Callable[[str], bool]  # a conference room
    account: Callable[[str], bool]  # does this CPaaS account exist
    voicemail_box: Callable[[str, str], bool]  # (number, account): a box is there or made


class ExtensionAdmin:
    def __init__(self, store: Store, realm: str, neighbours: Neighbours) -> None:
        self.store = store
        self.settings = ExtensionSettingsStore(store.db)
        self.realm = realm
        self.neighbours = neighbours

    def records(self) -> list[ExtensionRecord]:
        return self.settings.records()

    def record(self, number: str) -> ExtensionRecord:
        found = self.settings.record(number)
        if found is None:
            raise FieldError("number", f"no extension {number}", Refusal.NOT_FOUND)
        return found

    def add(self, number: object, changes: Mapping[str, Any]) -> tuple[ExtensionRecord, str]:
        """A new extension; returns it and its generated password (shown once)."""
        number = check_number(number)
        if self.neighbours.did(did_key(number)):
            raise FieldError("number", f"{number} is an inbound number (DID)", Refusal.CONFLICT)
        if self.neighbours.room(number):
            raise FieldError("number", f"{number} is a conference room's", Refusal.CONFLICT)
        settings = settings_with(ExtensionSettings(), changes)
        self._check_references(number, settings)
        password = new_password()
        made = credentials(number, password, self.realm, "api")
        if not self.settings.create(made, settings):
            raise FieldError("number", f"extension {number} exists", Refusal.CONFLICT)
        log.info("extension %s added", number)
        return ExtensionRecord(number, "api", settings), password

    def update(self, number: str, changes: Mapping[str, Any]) -> ExtensionRecord:
        record = self.record(number)
        settings = settings_with(record.settings, changes)
        self._check_references(number, settings)
        self.settings.put(number, settings)
        log.info("extension %s changed: %s", number, ", ".join(sorted(changes)) or "nothing")
        return ExtensionRecord(number, record.source, settings)

    def reset(self, number: str) -> str:
        """A new password; the old one stops at once, and the devices registered with
        it are unbound (a lost phone no longer gets the calls)."""
        record = self.record(number)
        password = new_password()
        self.settings.put_credentials(credentials(number, password, self.realm, record.source))
        self.store.delete_bindings(number)
        log.info("extension %s: password reset", number)
        return password

    def remove(self, number: str) -> None:
        """The extension, its registrations and settings; its live calls go on."""
        self.record(number)
        self.settings.delete(number)
        log.info("extension %s removed", number)

    def _check_references(self, number: str, settings: ExtensionSettings) -> None:
        if settings.account and not self.neighbours.account(settings.account):
            raise FieldError("account", f"no account {settings.account}")
        if settings.voicemail and not self.neighbours.voicemail_box(number, settings.account):
            raise FieldError("voicemail", "the switch runs no voicemail (no box configured)")
