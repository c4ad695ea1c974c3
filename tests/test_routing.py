"""Routing: our extensions first, else the trunk with the longest prefix; nothing relayed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from softswitch.channel import EndpointKind
from softswitch.config import TrunkConfig
from softswitch.extension_admin import credentials as make_extension
from softswitch.routing import Router, normalize
from softswitch.sip.ua import UserAgent
from softswitch.store import Store
from softswitch.trunk import Trunk


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "switch.db")
    for number in ("101", "102"):
        store.put_extension(make_extension(number, "pw", "softswitch", "config"))
    yield store
    store.close()


def trunks(**prefixes: list[str]) -> list[Trunk]:
    ua = UserAgent("127.0.0.1", 0, lambda st: None)  # never started: not needed
    return [
        Trunk(TrunkConfig(name=name, host=f"{name}.example.net", prefixes=p), ua)
        for name, p in prefixes.items()
    ]


def test_an_extension_is_ours_even_when_a_trunk_would_take_it(store: Store) -> None:
    router = Router(store, trunks(anything=[""], ones=["1"]))
    route = router.route("101")
    assert route is not None and route.kind == EndpointKind.EXTENSION and route.trunk is None
    assert route.kind == "extension"  # the stored and logged value stays the plain string


def test_the_longest_prefix_picks_the_trunk(store: Store) -> None:
    router = Router(store, trunks(world=[""], usa=["1"], nassau=["1516", "1631"], uk=["44"]))
    picked = {
        number: route.trunk.name
        for number in ("15165550100", "12125550100", "441632960000", "33155550100")
        if (route := router.route(number)) is not None and route.trunk is not None
    }
    assert picked == {
        "15165550100": "nassau",
        "12125550100": "usa",
        "441632960000": "uk",
        "33155550100": "world",
    }
    route = router.route("15165550100")
    assert route is not None and route.kind == EndpointKind.TRUNK
    assert route.number == "15165550100"


def test_a_tie_goes_to_the_trunk_configured_first(store: Store) -> None:
    router = Router(store, trunks(first=["1"], second=["1"]))
    route = router.route("1555")
    assert route is not None and route.trunk is not None and route.trunk.name == "first"


def test_no_route_without_a_matching_trunk_or_a_number(store: Store) -> None:
    assert Router(store, []).route("15165550100") is None
    assert Router(store, trunks(uk=["44"])).route("15165550100") is None
    assert Router(store, trunks(world=[""])).route("") is None


def test_a_call_from_a_trunk_reaches_our_extensions_only(store: Store) -> None:
    router = Router(store, trunks(world=[""]))
    route = router.route("102", allow_trunk=False)
    assert route is not None and route.kind == EndpointKind.EXTENSION
    # no open relay: a carrier's call to an outside number is not sent back out
    assert router.route("15165550100", allow_trunk=False) is None


def test_the_source_of_an_inbound_call_names_its_trunk(store: Store) -> None:
    first, second = trunks(a=[""], b=[""])
    first.config.inbound_from = ["192.0.2.1"]
    second.config.inbound_from = ["192.0.2.2:5070"]
    router = Router(store, [first, second])
    assert router.trunk_for_source("192.0.2.1", 5060) is first
    assert router.trunk_for_source("192.0.2.2", 5070) is second
    assert router.trunk_for_source("192.0.2.2", 5060) is None
    assert router.trunk_for_source("198.51.100.7", 5060) is None


@pytest.mark.parametrize(
    ("dialed", "digits"),
    [
        ("+1 (516) 814-8111", "+15168148111"),
        ("101", "101"),
        ("*72#", "*72#"),
        ("1+2+3", "123"),  # only a leading plus means international
        ("sip:abc", ""),
    ],
)
def test_normalize_keeps_only_dialable_characters(dialed: str, digits: str) -> None:
    assert normalize(dialed) == digits
