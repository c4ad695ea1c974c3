"""Trunks managed while the switch runs: added, changed and removed through the admin
API. The store keeps them (softswitch.store.trunks), seeded from ``[[trunks]]`` like the
extensions: a trunk the store has already keeps the store's settings, and a warning says
when the config file differs.

A change is applied by the switch (`apply`): a changed trunk is stopped (unregistered)
and started again with its new settings (it registers anew), a removed one unregisters
(REGISTER with Expires: 0). Calls already up through it are dialogs of the user agent,
not of the trunk object, and go on.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, fields
from typing import Any

from .config import ConfigError, TrunkConfig, build_trunk, split_host_port
from .field_error import FieldError, Refusal
from .store.trunks import TrunkStore

log = logging.getLogger("softswitch.trunk")

# the switch's: start, restart (a TrunkConfig) or stop (None) the trunk of that name
Apply = Callable[[str, TrunkConfig | None], Awaitable[None]]


def trunk_data(trunk: TrunkConfig) -> dict[str, Any]:
    return asdict(trunk)


def parse_trunk(values: Mapping[str, Any]) -> TrunkConfig:
    try:
        return build_trunk(values)
    except ConfigError as exc:
        raise FieldError("", str(exc)) from None


async def check_resolves(host: str) -> None:
    """FieldError on ``host`` when its name does not resolve (a typo, a dead domain)."""
    name, port = split_host_port(host, 5060)
    if name.rstrip(".").lower().endswith(".invalid") or name.lower() == "invalid":
        # RFC 6761 6.4: resolvers answer "no such name" for .invalid without asking anyone
        raise FieldError("host", f"{name} does not resolve (a .invalid name, RFC 6761)")
    try:
        await asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode
        reason = getattr(exc, "strerror", None) or exc
        raise FieldError("host", f"{name} does not resolve ({reason})") from None


class TrunkAdmin:
    def __init__(self, store: TrunkStore, apply: Apply | None = None) -> None:
        self.store = store
        self.apply = apply  # set by the switch once it can start trunks

    def seed(self, configured: list[TrunkConfig]) -> list[TrunkConfig]:
        """Add the config file's trunks the store lacks; returns every stored trunk."""
        for trunk in configured:
            stored = self.store.get(trunk.name)
            if stored is None:
                self.store.create(trunk.name, trunk_data(trunk), "config")
                continue
            wanted = trunk_data(trunk)
            differs = [
                f.name for f in fields(TrunkConfig) if stored.data.get(f.name) != wanted[f.name]
            ]
            if differs:
                log.warning(
                    "trunk %s: the config file's %s differ(s) from the store's; the store's"
                    " are kept (change them with /api/admin/trunks)",
                    trunk.name,
                    ", ".join(differs),
                )
        return [self._config(row.data) for row in self.store.all()]

    @staticmethod
    def _config(data: Mapping[str, Any]) -> TrunkConfig:
        return build_trunk(data)

    def all(self) -> list[tuple[TrunkConfig, str]]:
        """Every trunk and who made it ("config" or "api")."""
        return [(self._config(row.data), row.source) for row in self.store.all()]

    def get(self, name: str) -> tuple[TrunkConfig, str]:
        row = self.store.get(name)
        if row is None:
            raise FieldError("name", f"no trunk {name}", Refusal.NOT_FOUND)
        return self._config(row.data), row.source

    async def add(self, values: Mapping[str, Any]) -> TrunkConfig:
        name = values.get("name")
        if isinstance(name, str) and self.store.get(name) is not None:
            raise FieldError("name", f"trunk {name} exists", Refusal.CONFLICT)
        trunk = parse_trunk(values)
        await check_resolves(trunk.host)
        if not self.store.create(trunk.name, trunk_data(trunk), "api"):
            raise FieldError("name", f"trunk {trunk.name} exists", Refusal.CONFLICT)
        log.info("trunk %s added (%s)", trunk.name, trunk.host)
        await self._apply(trunk.name, trunk)
        return trunk

    async def update(self, name: str, changes: Mapping[str, Any]) -> TrunkConfig:
        current, _ = self.get(name)
        if "name" in changes and changes["name"] != name:
            raise FieldError("name", "a trunk is not renamed: remove it and add it anew")
        trunk = parse_trunk({**trunk_data(current), **changes})
        if trunk.host != current.host:
            await check_resolves(trunk.host)
        self.store.update(name, trunk_data(trunk))
        log.info("trunk %s changed: %s", name, ", ".join(sorted(changes)) or "nothing")
        await self._apply(name, trunk)
        return trunk

    async def remove(self, name: str) -> None:
        self.get(name)
        self.store.delete(name)
        log.info("trunk %s removed", name)
        await self._apply(name, None)

    async def _apply(self, name: str, trunk: TrunkConfig | None) -> None:
        if self.apply is not None:
            await self.apply(name, trunk)
