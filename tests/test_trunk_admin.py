"""Trunks managed at run time over a real store: seeding, checks naming the field (a
host that does not resolve, a duplicate name), and what is applied to the switch."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from softswitch.config import TrunkConfig
from softswitch.field_error import FieldError, Refusal
from softswitch.store import Store
from softswitch.store.trunks import TrunkStore
from softswitch.trunk_admin import TrunkAdmin


@pytest.fixture
def applied() -> list[tuple[str, TrunkConfig | None]]:
    return []


@pytest.fixture
def service(tmp_path: Path, applied: list[tuple[str, TrunkConfig | None]]) -> TrunkAdmin:
    async def apply(name: str, trunk: TrunkConfig | None) -> None:
        applied.append((name, trunk))

    return TrunkAdmin(TrunkStore(Store(tmp_path / "s.db").db), apply)


async def test_add_change_remove_are_applied(service: TrunkAdmin, applied) -> None:
    made = await service.add({"name": "carrier", "host": "127.0.0.1:5070", "username": "u"})
    assert made.transport == "UDP" and applied == [("carrier", made)]
    changed = await service.update("carrier", {"prefixes": ["1"], "transport": "tcp"})
    assert changed.prefixes == ["1"] and changed.transport == "TCP" and changed.username == "u"
    assert service.get("carrier") == (changed, "api")
    await service.remove("carrier")
    assert applied[-1] == ("carrier", None)
    assert service.all() == []


@pytest.mark.parametrize(
    ("body", "message", "refusal"),
    [
        (
            {"name": "x", "host": "no-such-host.invalid"},
            "host: no-such-host.invalid does not resolve",
            Refusal.INVALID,
        ),
        ({"name": "carrier", "host": "127.0.0.1"}, "name: trunk carrier exists", Refusal.CONFLICT),
        ({"name": "bad name", "host": "127.0.0.1"}, "name must be", Refusal.INVALID),
        (
            {"name": "x", "host": "127.0.0.1", "transport": "sctp"},
            "transport must be",
            Refusal.INVALID,
        ),
        ({"name": "x", "host": "127.0.0.1:99999"}, "host: port out of range", Refusal.INVALID),
        ({"name": "x", "host": "127.0.0.1", "register": True}, "needs a username", Refusal.INVALID),
        (
            {"name": "x", "host": "127.0.0.1", "colour": "red"},
            "unknown key(s): colour",
            Refusal.INVALID,
        ),
        (
            {"name": "x", "host": "127.0.0.1", "expires": "soon"},
            "trunk.expires: expected int",
            Refusal.INVALID,
        ),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    service: TrunkAdmin, applied, body: dict[str, object], message: str, refusal: Refusal
) -> None:
    await service.add({"name": "carrier", "host": "127.0.0.1", "register": False})
    with pytest.raises(FieldError) as refused:
        await service.add({"register": False, **body})
    assert message in str(refused.value) and refused.value.refusal is refusal
    assert [t.name for t, _ in service.all()] == ["carrier"] and len(applied) == 1


async def test_a_change_to_an_unresolvable_host_changes_nothing(service: TrunkAdmin) -> None:
    await service.add({"name": "carrier", "host": "127.0.0.1", "register": False})
    with pytest.raises(FieldError, match="^host: "):
        await service.update("carrier", {"host": "no-such-host.invalid"})
    assert service.get("carrier")[0].host == "127.0.0.1"
    with pytest.raises(FieldError) as missing:
        await service.update("other", {})
    assert missing.value.refusal is Refusal.NOT_FOUND


def test_seed_adds_missing_trunks_and_keeps_stored_ones(
    service: TrunkAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    first = TrunkConfig("carrier", "127.0.0.1", register=False)
    assert [t.host for t in service.seed([first])] == ["127.0.0.1"]
    changed = TrunkConfig("carrier", "127.0.0.2", register=False)
    other = TrunkConfig("backup", "127.0.0.3", register=False)
    with caplog.at_level(logging.WARNING, logger="softswitch.trunk"):
        seeded = service.seed([changed, other])
    assert {t.name: t.host for t in seeded} == {"carrier": "127.0.0.1", "backup": "127.0.0.3"}
    [warning] = [r.getMessage() for r in caplog.records]
    assert "trunk carrier" in warning and "host" in warning
