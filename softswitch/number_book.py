"""The inbound numbers and ring groups of every account: seeded from the config at
start, changed through the API, read by the switch for each call from a trunk.

Every write is validated whole (softswitch.numbers, softswitch.ringgroups) and its
destinations checked against what exists (extensions, the account's ring groups and
flows); errors are `NumberError`s naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .destination import DestinationKind
from .numbers import Directory, InboundNumber, NumberError, did_key, parse_model
from .ringgroups import RingGroup
from .store import Store
from .store.flows import FlowStore, StoredFlow
from .store.numbers import NumberStore


class NumberBook:
    def __init__(self, store: Store, rooms: Callable[[str], bool] = lambda number: True) -> None:
        """rooms: whether a conference room of that number exists."""
        self.store = store
        self.rows = NumberStore(store.db)
        self.flows = FlowStore(store.db)
        self.directory = Directory(
            extension=lambda number: store.extension(number) is not None,
            ring_group=lambda account, gid: self.rows.ring_group(account, gid) is not None,
            flow=lambda account, ref: self.flow(account, ref) is not None,
            room=rooms,
        )

    def seed(
        self, numbers: Sequence[Mapping[str, Any]], groups: Sequence[Mapping[str, Any]]
    ) -> None:
        """Replace the config's rows with ``[[numbers]]`` and ``[[ring_groups]]``."""
        self.rows.forget_config_rows()
        parsed = [parse_model(RingGroup, g, f"ring_groups[{i}]") for i, g in enumerate(groups)]
        for group in parsed:  # all first: groups may fall back to each other
            self.rows.put_ring_group(group.account, group.id, _dump(group), "config")
        for i, group in enumerate(parsed):
            self._check_group(group, f"ring_groups[{i}]")
        for i, data in enumerate(numbers):
            self.put_number(data, source="config", where=f"numbers[{i}]")

    # -- numbers --------------------------------------------------------------

    def lookup(self, dialed: str) -> InboundNumber | None:
        """The number a call from a trunk dialed, if it is one of ours."""
        row = self.rows.number(did_key(dialed))
        return InboundNumber.model_validate(row.data) if row is not None else None

    def numbers(self, account: str) -> list[InboundNumber]:
        return [InboundNumber.model_validate(r.data) for r in self.rows.numbers(account)]

    def number(self, account: str, number: str) -> InboundNumber | None:
        row = self.rows.number(did_key(number))
        if row is None or row.account_id != account:
            return None
        return InboundNumber.model_validate(row.data)

    def put_number(
        self, data: Mapping[str, Any], *, source: str = "api", where: str = "", replace: bool = True
    ) -> InboundNumber:
        item = parse_model(InboundNumber, data, where)
        existing = self.rows.number(item.number)
        prefix = f"{where}." if where else ""
        if existing is not None and (not replace or existing.account_id != item.account):
            raise NumberError(f"{prefix}number: {item.number} is already in use")
        for field, destination in item.destinations():
            self.directory.check(prefix + field, destination, item.account)
        self.rows.put_number(item.number, item.account, _dump(item), source)
        return item

    def delete_number(self, account: str, number: str) -> bool:
        if self.number(account, number) is None:
            return False
        self.rows.delete_number(did_key(number))
        return True

    # -- ring groups ----------------------------------------------------------

    def ring_group(self, account: str, group_id: str) -> RingGroup | None:
        row = self.rows.ring_group(account, group_id)
        return RingGroup.model_validate(row.data) if row is not None else None

    def ring_groups(self, account: str) -> list[RingGroup]:
        return [RingGroup.model_validate(r.data) for r in self.rows.ring_groups(account)]

    def put_ring_group(
        self, data: Mapping[str, Any], *, source: str = "api", replace: bool = True
    ) -> RingGroup:
        group = parse_model(RingGroup, data)
        if not replace and self.rows.ring_group(group.account, group.id) is not None:
            raise NumberError(f"id: ring group {group.id} exists")
        self._check_group(group, "")
        self.rows.put_ring_group(group.account, group.id, _dump(group), source)
        return group

    def delete_ring_group(self, account: str, group_id: str) -> bool:
        if self.rows.ring_group(account, group_id) is None:
            return False
        users = self.users(account, DestinationKind.RING_GROUP, {group_id})
        if users:
            raise NumberError(f"id: ring group {group_id} is the destination of {users[0]}")
        self.rows.delete_ring_group(account, group_id)
        return True

    def users(self, account: str, kind: DestinationKind, targets: set[str]) -> list[str]:
        """The account's numbers and ring groups sending calls to ``kind:target`` for any
        of ``targets`` (what must not be deleted or renamed from under them)."""
        found: list[str] = []
        for number in self.numbers(account):
            if any(d.kind is kind and d.target in targets for _, d in number.destinations()):
                found.append(f"number {number.number}")
        for group in self.ring_groups(account):
            fallback = group.fallback
            if fallback is not None and fallback.kind is kind and fallback.target in targets:
                found.append(f"ring group {group.id}")
        return found

    def _check_group(self, group: RingGroup, where: str) -> None:
        prefix = f"{where}." if where else ""
        for i, member in enumerate(group.members):
            if self.store.extension(member) is None:
                raise NumberError(f"{prefix}members[{i}]: no extension {member}")
        if group.fallback is not None:
            self.directory.check(prefix + "fallback", group.fallback, group.account)

    # -- flows ----------------------------------------------------------------

    def flow(self, account: str, ref: str) -> StoredFlow | None:
        """The account's flow with id or name ``ref``."""
        found = self.flows.get(account, ref)
        if found is not None:
            return found
        return next((f for f in self.flows.all(account) if f.name == ref), None)


def _dump(model: InboundNumber | RingGroup) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)
