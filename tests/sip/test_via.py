"""Via (RFC 3261 20.42) and RFC 5118 IPv6 hosts."""

from __future__ import annotations

import pytest

from softswitch.sip.errors import SipParseError
from softswitch.sip.via import Via

# --- Via ----------------------------------------------------------------------------


def test_via_basic() -> None:
    v = Via.parse("SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;rport")
    assert (v.transport, v.host, v.port) == ("UDP", "pc33.atlanta.example.com", 5066)
    assert v.params == {"branch": "z9hG4bK776asdhds", "rport": None}
    assert v.branch == "z9hG4bK776asdhds"
    assert str(v) == "SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;rport"


def test_via_lws_everywhere_and_case() -> None:
    v = Via.parse("  sip / 2.0 / tcp   host.example.com : 5060 ; Branch = z9hG4bKx ; RPORT ")
    assert (v.transport, v.host, v.port) == ("TCP", "host.example.com", 5060)
    assert v.params == {"branch": "z9hG4bKx", "rport": None}


def test_via_ipv6_and_received() -> None:
    v = Via.parse("SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKv6;received=2001:db8::9:255")
    assert v.host == "[2001:db8::9:1]"
    assert v.params["received"] == "2001:db8::9:255"
    assert Via.parse(str(v)) == v


def test_via_mutation_renders() -> None:
    v = Via.parse("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa;rport")
    v.params["rport"] = "5062"
    v.params["received"] = "192.0.2.9"
    assert str(v) == "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa;rport=5062;received=192.0.2.9"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP ;branch=x",
        "SIP/3.0/UDP host",
        "HTTP/2.0/UDP host",
        "SIP/2.0 host",
        "SIP/2.0/UDP host:99999",
        "SIP/2.0/UDP host:port",
        "SIP/2.0/UDP [::zz]",
        "SIP/2.0/UDP host;branch=a;branch=b",
        'SIP/2.0/UDP host;branch="open',
        "SIP/2.0/UDP host extra",
        "SIP/2.0/UDP a, SIP/2.0/UDP b",
    ],
)
def test_invalid_vias(text: str) -> None:
    with pytest.raises(SipParseError):
        Via.parse(text)
