"""The per-peer choice of our advertised address (softswitch/sip/routes.py), against
the machine's real routes: loopback, and a LAN host in a network namespace."""

from __future__ import annotations

import ipaddress

import pytest

from softswitch.sip import routes
from softswitch.sip.address import Address
from softswitch.sip.routes import LocalAddresses, parse_networks, route_source, uri_host
from softswitch.sip.ua import UserAgent
from softswitch.sip.uri import SipUri
from tests.peers.netns import NetLab


def test_a_specific_listen_address_is_advertised_to_everyone() -> None:
    chooser = LocalAddresses("198.18.0.1")
    assert chooser.default == "198.18.0.1"
    assert chooser.for_peer("127.0.0.1") == "198.18.0.1"
    assert chooser.for_peer("198.19.4.5") == "198.18.0.1"


def test_wildcard_tells_loopback_peers_loopback() -> None:
    chooser = LocalAddresses("0.0.0.0")
    assert chooser.default == "127.0.0.1"
    assert chooser.for_peer("127.0.0.1") == "127.0.0.1"
    assert chooser.for_peer("127.0.0.53") == "127.0.0.1"
    assert chooser.for_peer("::1") == "::1"


def test_wildcard_tells_a_lan_peer_the_address_of_the_route_to_it(netlab: NetLab) -> None:
    host = netlab.lan_host()
    assert route_source(host.address) == host.gateway
    chooser = LocalAddresses("0.0.0.0")
    assert chooser.for_peer(host.address) == host.gateway
    assert chooser.for_peer("127.0.0.1") == "127.0.0.1"


def test_routes_are_cached_per_destination(netlab: NetLab) -> None:
    host = netlab.lan_host()
    chooser = LocalAddresses("0.0.0.0")
    assert chooser.for_peer(host.address) == host.gateway
    netlab.close()  # the link and its route are gone
    assert route_source(host.address) != host.gateway
    assert chooser.for_peer(host.address) == host.gateway  # no syscall per message
    chooser.forget()
    assert chooser.for_peer(host.address) != host.gateway


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes, "CACHE_LIMIT", 3)
    chooser = LocalAddresses("0.0.0.0")
    for last in range(1, 8):
        assert chooser.for_peer(f"127.0.0.{last}") == "127.0.0.1"
        assert len(chooser._cache) <= 3


def test_external_address_for_peers_outside_local_networks(netlab: NetLab) -> None:
    lan = netlab.lan_host()
    chooser = LocalAddresses(
        "0.0.0.0",
        external="sip.example.test",
        local_networks=parse_networks([f"{lan.address}/30"]),
    )
    assert chooser.default == "sip.example.test"
    assert chooser.for_peer(lan.address) == lan.gateway
    assert chooser.for_peer("127.0.0.1") == "127.0.0.1"  # loopback is always local
    assert chooser.for_peer("198.19.200.7") == "sip.example.test"


def test_external_address_without_local_networks() -> None:
    chooser = LocalAddresses("198.18.0.1", external="198.19.0.1")
    assert chooser.for_peer("198.18.0.2") == "198.19.0.1"
    assert chooser.for_peer("127.0.0.1") == "198.18.0.1"


def test_an_ipv4_external_address_is_not_told_to_an_ipv6_peer() -> None:
    # 2001:2::/48 is IPv6's benchmark range (RFC 5180); nothing is sent, no route looked up
    chooser = LocalAddresses("2001:2::1", external="198.19.0.1")
    assert chooser.for_peer("2001:2::7") == "2001:2::1"
    assert chooser.for_peer("198.18.0.2") == "198.19.0.1"
    named = LocalAddresses("2001:2::1", external="pbx.example.test")
    assert named.for_peer("2001:2::7") == "pbx.example.test"  # its DNS may hold an AAAA


def test_a_host_name_gets_the_default_without_a_lookup() -> None:
    assert LocalAddresses("0.0.0.0").for_peer("carrier.invalid") == "127.0.0.1"
    chooser = LocalAddresses("0.0.0.0", external="198.19.0.1")
    assert chooser.for_peer("carrier.invalid") == "198.19.0.1"


def test_parse_networks() -> None:
    assert parse_networks(["198.18.0.0/15", " 10.1.2.3/8 ", "fd00::/8"]) == [
        ipaddress.ip_network("198.18.0.0/15"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
    ]
    for bad in ("lan", "10.0.0.0/33", "300.1.1.0/24", ""):
        with pytest.raises(ValueError, match="not a network"):
            parse_networks([bad])


def test_uri_host_brackets_ipv6() -> None:
    assert uri_host("198.18.0.1") == "198.18.0.1"
    assert uri_host("sip.example.test") == "sip.example.test"
    assert uri_host("::1") == "[::1]"


def test_via_and_contact_name_the_peers_route(netlab: NetLab) -> None:
    lan = netlab.lan_host()
    ua = UserAgent("0.0.0.0", 5999, lambda st: None)  # never started: no socket
    assert ua.via("UDP", lan.address).startswith(f"SIP/2.0/UDP {lan.gateway}:5999;branch=")
    assert ua.contact("101", "TCP", lan.address) == f"<sip:101@{lan.gateway}:5999;transport=tcp>"
    assert ua.contact(None, "UDP", "127.0.0.1") == "<sip:127.0.0.1:5999>"
    assert ua.contact(None, "UDP", "::1") == "<sip:[::1]:5999>"
    assert ua.via().startswith("SIP/2.0/UDP 127.0.0.1:5999;")  # peer unknown: the default
    request = ua.new_request(
        "INVITE",
        SipUri("sip", "101", lan.address, 5060),
        Address(SipUri("sip", "102", lan.gateway)),
        Address(SipUri("sip", "101", lan.address)),
        peer_host=lan.address,
    )
    assert request.headers.get("Via", "").startswith(f"SIP/2.0/UDP {lan.gateway}:5999")
    assert request.headers.get("Contact") == f"<sip:{lan.gateway}:5999>"


def test_describe() -> None:
    assert LocalAddresses("0.0.0.0").describe() == "the route's source address"
    assert (
        "198.18.0.0/15"
        in LocalAddresses(
            "0.0.0.0", external="198.19.0.1", local_networks=parse_networks(["198.18.0.0/15"])
        ).describe()
    )
