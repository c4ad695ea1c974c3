"""What an administrator sees of an extension: its registrations and whether each answers.

Built from the store's extensions and bindings and the keepalive's verdicts, as plain
dataclasses, so the admin API shapes JSON without reaching into the registrar or the
keepalive. Password digests are not part of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .store import Binding, Extension, Store


@dataclass(slots=True, frozen=True)
class RegistrationStatus:
    contact: str  # the Contact URI as registered
    source_host: str  # where the REGISTER came from (the flow calls go back through)
    source_port: int
    transport: str  # "udp" | "tcp" | "tls"
    user_agent: str  # "" when the phone sent none
    expires_in: int  # seconds
    reachable: bool  # False once the keepalive found it silent since it registered


@dataclass(slots=True, frozen=True)
class ExtensionStatus:
    number: str
    name: str  # "" when none is configured
    registrations: list[RegistrationStatus]


def extension_status(
    store: Store,
    extension: Extension,
    name: str,
    reachable: Callable[[Binding], bool],
    now: float,
) -> ExtensionStatus:
    bindings = store.bindings(extension.number, now)
    return _status(extension, name, bindings, reachable, now)


def all_extension_status(
    store: Store,
    names: Mapping[str, str],
    reachable: Callable[[Binding], bool],
    now: float,
) -> list[ExtensionStatus]:
    """Every extension in the store, by number (two queries, however many there are)."""
    by_aor: dict[str, list[Binding]] = {}
    for binding in store.live_bindings(now):
        by_aor.setdefault(binding.aor, []).append(binding)
    return [
        _status(ext, names.get(ext.number, ""), by_aor.get(ext.number, []), reachable, now)
        for ext in store.extensions()
    ]


def _status(
    extension: Extension,
    name: str,
    bindings: list[Binding],
    reachable: Callable[[Binding], bool],
    now: float,
) -> ExtensionStatus:
    # most recently refreshed first, as the registrar lists them
    ordered = sorted(bindings, key=lambda b: b.expires_at, reverse=True)
    registrations = [
        RegistrationStatus(
            contact=b.contact,
            source_host=b.source_host,
            source_port=b.source_port,
            transport=b.transport.lower(),
            user_agent=b.user_agent,
            expires_in=b.expires_in(now),
            reachable=reachable(b),
        )
        for b in ordered
    ]
    return ExtensionStatus(extension.number, name, registrations)
