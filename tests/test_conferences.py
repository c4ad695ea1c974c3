"""The conference registry: rooms from the config and the API, per account, their numbers
unique and apart from the extensions, kept in the store; live rooms opened and dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.clock import MediaClock
from media.ports import PortAllocator
from softswitch.conferences import ConferenceError, ConferenceErrorKind, Conferences
from softswitch.config import ConferenceConfig
from softswitch.store import Store
from softswitch.store.conferences import ConferenceStore
from tests.legs import legs


def registry(store: Store, tmp_path: Path) -> Conferences:
    configured = [ConferenceConfig("800", pin="1234", account="AC1")]
    return Conferences(
        configured,
        ConferenceStore(store.db),
        MediaClock(),
        tmp_path / "recordings",
        lambda number: number in ("101", "102"),
    )


@pytest.fixture
def store(store_url: str):
    store = Store(store_url)
    yield store
    store.close()


def kind(exc: pytest.ExceptionInfo[ConferenceError]) -> ConferenceErrorKind:
    return exc.value.kind


def test_rooms_are_per_account_unique_and_not_extensions(store: Store, tmp_path: Path) -> None:
    rooms = registry(store, tmp_path)
    made = rooms.create(ConferenceConfig("801", name="Team", account="AC1"))
    rooms.create(ConferenceConfig("900", account="AC2"))
    assert [r.number for r in rooms.of_account("AC1")] == ["800", "801"]
    assert rooms.settings("801") is made and rooms.settings("802") is None
    with pytest.raises(ConferenceError) as exc:
        rooms.create(ConferenceConfig("900", account="AC1"))
    assert kind(exc) == ConferenceErrorKind.EXISTS
    with pytest.raises(ConferenceError) as exc:
        rooms.create(ConferenceConfig("101", account="AC1"))
    assert kind(exc) == ConferenceErrorKind.INVALID and "extension" in exc.value.message
    with pytest.raises(ConferenceError) as exc:
        rooms.create(ConferenceConfig("802", pin="x1", account="AC1"))
    assert kind(exc) == ConferenceErrorKind.INVALID
    with pytest.raises(ConferenceError) as exc:
        rooms.owned("AC1", "900")  # another account's room is not found
    assert kind(exc) == ConferenceErrorKind.NOT_FOUND


async def test_updates_and_deletes_persist_and_config_rooms_are_read_only(
    store: Store, tmp_path: Path
) -> None:
    rooms = registry(store, tmp_path)
    rooms.create(ConferenceConfig("801", account="AC1"))
    rooms.update("AC1", "801", pin="55", record=True)
    with pytest.raises(ConferenceError) as exc:
        rooms.update("AC1", "800", pin="1")
    assert kind(exc) == ConferenceErrorKind.READ_ONLY
    with pytest.raises(ConferenceError) as exc:
        rooms.update("AC1", "801", max_participants=1000)
    assert kind(exc) == ConferenceErrorKind.INVALID
    again = registry(store, tmp_path)  # a restart: read back from the store
    room = again.settings("801")
    assert room is not None and (room.pin, room.record, room.account) == ("55", True, "AC1")
    await again.delete("AC1", "801")
    assert registry(store, tmp_path).settings("801") is None


async def test_a_live_room_records_and_is_dropped_when_empty(store: Store, tmp_path: Path) -> None:
    rooms = registry(store, tmp_path)
    settings = rooms.create(ConferenceConfig("801", record=True, account="AC1"))
    room = rooms.open(settings)
    assert rooms.open(settings) is room and rooms.live("801") is room
    async with legs(PortAllocator(34000, 34999)) as made:
        member = room.join((await made.leg("101")).channel)
        room.tick(0)
        room.leave(member)
    assert rooms.live("801") is None and room.closed
    (wav,) = (tmp_path / "recordings" / "AC1").glob("conference-801-*.wav")
    assert wav.stat().st_size == 44 + 320


async def test_a_room_on_a_generated_extension_s_number_stops_the_switch_starting(
    tmp_path: Path,
) -> None:
    from softswitch.config import ConfigError, from_dict
    from softswitch.switch import Switch

    # no [[extensions]]: 101 and 102 are generated at start, after the config was read
    config = from_dict(
        {
            "sip": {"listen": "127.0.0.1:0"},
            "store": {"path": str(tmp_path / "s.db")},
            "conferences": [{"number": "102"}],
        },
        {},
    )
    switch = Switch(config, announce=lambda line: None)
    try:
        with pytest.raises(ConfigError, match="conference 102: number is an extension's"):
            await switch.start()
    finally:
        switch.store.close()
