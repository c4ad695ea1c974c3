"""What only the front door may tell a node: its Path and the real source of a request."""

from __future__ import annotations

from softswitch.cluster.front_door import SOURCE_HEADER, FrontDoor
from softswitch.sip.address import Address
from softswitch.sip.headers import Headers
from softswitch.sip.message import Request
from softswitch.sip.transport import Peer
from softswitch.sip.uri import SipUri

DOOR = Peer("UDP", "198.18.0.1", 5060)
STRANGER = Peer("UDP", "198.18.0.9", 5060)


def request(**headers: str) -> Request:
    h = Headers()
    uri = SipUri("sip", "101", "198.18.0.2")
    h.add("From", str(Address(uri, None, {"tag": "a"})))
    h.add("To", str(Address(uri)))
    for name, value in headers.items():
        h.add(name.replace("_", "-"), value)
    return Request("INVITE", uri, h, b"")


def test_doors_by_address_or_address_and_port():
    door = FrontDoor(["198.18.0.1", "198.18.0.3:5070"])
    assert door.trusts(DOOR) and door.trusts(Peer("TCP", "198.18.0.1", 40000))
    assert door.trusts(Peer("UDP", "198.18.0.3", 5070))
    assert not door.trusts(Peer("UDP", "198.18.0.3", 5060))
    assert not door.trusts(STRANGER)


def test_the_source_a_door_names_is_the_origin_of_its_requests():
    door = FrontDoor(["198.18.0.1"])
    relayed = request(**{SOURCE_HEADER: "udp:198.18.0.50:5062"})
    assert door.origin(relayed, DOOR) == Peer("UDP", "198.18.0.50", 5062)
    ipv6 = request(**{SOURCE_HEADER: "tcp:2001:db8::5:5060"})
    assert door.origin(ipv6, DOOR) == Peer("TCP", "2001:db8::5", 5060)
    # anyone else naming a source is not believed
    assert door.origin(relayed, STRANGER) == STRANGER
    # nor a header the door could not have written
    for bad in ("sctp:198.18.0.50:5062", "udp:198.18.0.50", "udp::x"):
        assert door.origin(request(**{SOURCE_HEADER: bad}), DOOR) == DOOR
    assert door.origin(request(), DOOR) == DOOR


def test_a_path_counts_only_from_a_door():
    door = FrontDoor(["198.18.0.1"])
    path = "<sip:198.18.0.1;lr;received=sip:198.18.0.50:5062>"
    register = request(Path=path)
    assert door.path(register, DOOR) == path
    assert door.path(register, STRANGER) == ""
    assert door.path(request(), DOOR) == ""
