"""Inbound numbers and ring groups: the models, the book over a real store, the config."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from softswitch.config import ConfigError
from softswitch.destination import Destination, DestinationKind
from softswitch.extensions import provision_extensions
from softswitch.number_book import NumberBook
from softswitch.numbers import InboundNumber, NumberError, parse_model
from softswitch.ringgroups import RingGroup, Strategy
from softswitch.store import Store
from softswitch.store.flows import FlowStore
from tests.switch_harness import switch_config

HOURS = {
    "time_zone": "UTC",
    "open": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}],
    "holidays": ["2026-12-25"],
}


@pytest.fixture
def book(tmp_path: Path, store_url) -> NumberBook:
    config = switch_config(tmp_path, 5060, 20000, extensions={"101": "a", "102": "b", "103": "c"})
    store = Store(store_url)
    provision_extensions(store, config, lambda line: None)
    FlowStore(store.db).create("account_1", "main menu", [{"type": "hangup"}], 0.0)
    return NumberBook(store)


def test_destination_parse() -> None:
    assert Destination.parse("ring_group:sales") == Destination(DestinationKind.RING_GROUP, "sales")
    assert str(Destination.parse(" extension : 101")) == "extension:101"
    with pytest.raises(ValueError, match="kind must be one of"):
        Destination.parse("queue:1")
    with pytest.raises(ValueError, match="bad extension target"):
        Destination.parse("extension:abc")
    with pytest.raises(ValueError, match="bad voicemail target"):
        Destination.parse("voicemail")


def test_number_picks_open_or_closed() -> None:
    number = InboundNumber.model_validate(
        {
            "number": "+1 555 0100".replace(" ", ""),
            "account": "account_1",
            "destination": "ring_group:sales",
            "closed": "voicemail:101",
            "hours": HOURS,
        }
    )
    assert number.number == "15550100"
    wednesday = dt.datetime(2026, 1, 14, 10, 0, tzinfo=dt.UTC)
    assert number.destination_at(wednesday) == Destination.parse("ring_group:sales")
    assert number.destination_at(wednesday.replace(hour=18)) == Destination.parse("voicemail:101")
    christmas = dt.datetime(2026, 12, 25, 10, 0, tzinfo=dt.UTC)
    assert number.destination_at(christmas) == Destination.parse("voicemail:101")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"closed": "extension:101"}, "hours and closed go together"),
        ({"destination": "number:+4930123"}, "cannot be an outside number"),
        ({"destination": "bogus:1"}, "destination: 'bogus:1': kind must be one of"),
        ({"number": "12ab"}, "number: String should match pattern"),
        (
            {"hours": HOURS | {"time_zone": "Nowhere/Land"}, "closed": "extension:101"},
            "n[0].hours.time_zone: unknown time zone 'Nowhere/Land'",
        ),
    ],
)
def test_bad_numbers_name_the_field(data: dict[str, object], message: str) -> None:
    base = {"number": "15550100", "account": "account_1", "destination": "extension:101"}
    with pytest.raises(NumberError) as info:
        parse_model(InboundNumber, base | data, "n[0]")
    assert message in str(info.value)


def test_ring_group_model() -> None:
    group = RingGroup.model_validate(
        {"id": "sales", "account": "a", "members": ["101", "102"], "strategy": "sequential"}
    )
    assert group.strategy is Strategy.SEQUENTIAL and group.fallback is None
    for members, message in (([], "at least 1"), (["101", "101"], "listed twice"), (["x"], "not")):
        with pytest.raises(NumberError, match=message):
            parse_model(RingGroup, {"id": "s", "account": "a", "members": members})
    with pytest.raises(NumberError, match="fallback: a ring group cannot fall back to itself"):
        parse_model(
            RingGroup, {"id": "s", "account": "a", "members": ["1"], "fallback": "ring_group:s"}
        )


def test_book_checks_references(book: NumberBook) -> None:
    with pytest.raises(NumberError, match="destination: unknown destination ring_group:sales"):
        book.put_number(
            {"number": "15550100", "account": "account_1", "destination": "ring_group:sales"}
        )
    with pytest.raises(NumberError, match="members\\[1\\]: no extension 109"):
        book.put_ring_group({"id": "sales", "account": "account_1", "members": ["101", "109"]})
    book.put_ring_group(
        {
            "id": "sales",
            "account": "account_1",
            "members": ["101", "102"],
            "fallback": "extension:103",
        }
    )
    book.put_number(
        {"number": "+15550100", "account": "account_1", "destination": "ring_group:sales"}
    )
    book.put_number({"number": "15550101", "account": "account_1", "destination": "flow:main menu"})
    with pytest.raises(NumberError, match="unknown destination flow:other"):
        book.put_number({"number": "15550102", "account": "account_1", "destination": "flow:other"})
    # another account sees neither the group nor the flow, and cannot take the number
    with pytest.raises(NumberError, match="unknown destination ring_group:sales"):
        book.put_number(
            {"number": "15550103", "account": "account_2", "destination": "ring_group:sales"}
        )
    with pytest.raises(NumberError, match="number: 15550100 is already in use"):
        book.put_number(
            {"number": "15550100", "account": "account_2", "destination": "extension:101"}
        )
    found = book.lookup("+1 555 0100".replace(" ", ""))
    assert found is not None and found.account == "account_1"
    assert book.lookup("15550199") is None
    assert [n.number for n in book.numbers("account_1")] == ["15550100", "15550101"]
    assert book.numbers("account_2") == []
    # a group in use cannot go; once its number is gone it can
    with pytest.raises(
        NumberError, match="id: ring group sales is the destination of number 15550100"
    ):
        book.delete_ring_group("account_1", "sales")
    assert book.delete_number("account_1", "15550100")
    assert not book.delete_number("account_2", "15550101")  # not theirs
    assert book.delete_ring_group("account_1", "sales")
    assert book.ring_group("account_1", "sales") is None


def test_a_conference_destination_must_name_a_room(store_url: str) -> None:
    store = Store(store_url)
    rooms = NumberBook(store, rooms=lambda number: number == "800")
    with pytest.raises(NumberError, match="destination: unknown destination conference:801"):
        rooms.put_number(
            {"number": "15550111", "account": "account_1", "destination": "conference:801"}
        )
    rooms.put_number(
        {"number": "15550111", "account": "account_1", "destination": "conference:800"}
    )


def test_seed_replaces_config_rows_and_keeps_api_rows(book: NumberBook) -> None:
    book.put_number({"number": "15550999", "account": "account_1", "destination": "extension:101"})
    groups = [
        {"id": "g", "account": "account_1", "members": ["101"], "fallback": "ring_group:h"},
        {"id": "h", "account": "account_1", "members": ["102"]},
    ]
    book.seed(
        [{"number": "15550100", "account": "account_1", "destination": "ring_group:g"}], groups
    )
    assert {n.number for n in book.numbers("account_1")} == {"15550100", "15550999"}
    book.seed([], [])
    assert [n.number for n in book.numbers("account_1")] == ["15550999"]
    assert book.ring_groups("account_1") == []
    with pytest.raises(NumberError, match="numbers\\[0\\].destination: unknown destination"):
        book.seed([{"number": "1555", "account": "account_1", "destination": "extension:999"}], [])


def test_config_validates_numbers(tmp_path: Path) -> None:
    numbers = [{"number": "15550100", "account": "a", "destination": "extension:101"}]
    assert switch_config(tmp_path, 5060, 20000, numbers=numbers).numbers == numbers
    with pytest.raises(ConfigError, match="numbers\\[0\\].destination: 'x': kind must be"):
        switch_config(tmp_path, 5060, 20000, numbers=[numbers[0] | {"destination": "x"}])
    with pytest.raises(ConfigError, match="ring_groups\\[0\\].strategy"):
        switch_config(
            tmp_path,
            5060,
            20000,
            ring_groups=[{"id": "g", "account": "a", "members": ["101"], "strategy": "random"}],
        )


async def test_a_configured_number_naming_no_extension_stops_the_start(tmp_path: Path) -> None:
    from softswitch.switch import Switch

    numbers = [{"number": "15550100", "account": "a", "destination": "extension:999"}]
    switch = Switch(switch_config(tmp_path, 0, 20000, numbers=numbers), announce=lambda _: None)
    with pytest.raises(ConfigError, match="numbers\\[0\\].destination: unknown destination"):
        await switch.start()
    switch.store.close()
