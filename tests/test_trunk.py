"""Trunk: which numbers and sources are the carrier's, and registration against a real registrar.

The carrier is our own Switch: its registrar challenges with digest like a carrier does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from softswitch import trunk as trunk_module
from softswitch.channel import ChannelState
from softswitch.config import TrunkConfig
from softswitch.sip.errors import SipError
from softswitch.sip.message import Request
from softswitch.sip.parser import parse_message
from softswitch.sip.transaction import Timers
from softswitch.sip.transport import Peer
from softswitch.sip.ua import UserAgent
from softswitch.sip.via import Via
from softswitch.store.database import Binding
from softswitch.switch import Switch
from softswitch.trunk import Trunk, TrunkState
from softswitch.trunk_keepalive import CarrierState
from tests.peers.netns import NetLab
from tests.sip.raw import RawUdp
from tests.switch_harness import switch_config

HOST = "127.0.0.1"


def trunk_config(**overrides: object) -> TrunkConfig:
    return TrunkConfig(**{"name": "carrier", "host": "sip.example.net", **overrides})  # type: ignore[arg-type]


@pytest.fixture
async def ua() -> AsyncIterator[UserAgent]:
    ua = UserAgent(HOST, 0, lambda st: None)
    await ua.start()
    yield ua
    await ua.stop()


@pytest.fixture
async def carrier(tmp_path: Path) -> AsyncIterator[Switch]:
    """A registrar that knows user 101 (password pw101) and grants as little as 1 s."""
    config = switch_config(tmp_path, 0, 36000, extensions={"101": "pw101"}, sip={"min_expires": 1})
    switch = Switch(config, announce=lambda line: None)
    await switch.start()
    yield switch
    await switch.stop()


def registering(carrier: Switch, ua: UserAgent, **overrides: object) -> Trunk:
    given: dict[str, object] = {"username": "101", "password": "pw101", **overrides}
    config = trunk_config(host=f"{HOST}:{carrier.ua.port}", **given)
    return Trunk(config, ua)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def test_the_longest_configured_prefix_wins(ua: UserAgent) -> None:
    trunk = Trunk(trunk_config(prefixes=["1", "1516", ""]), ua)
    assert trunk.prefix_match("15165550100") == 4
    assert trunk.prefix_match("12125550100") == 1
    assert trunk.prefix_match("445550100") == 0
    assert Trunk(trunk_config(prefixes=["44"]), ua).prefix_match("15165550100") == -1


def test_uri_and_credentials(ua: UserAgent) -> None:
    plain = Trunk(trunk_config(), ua)
    assert str(plain.uri_for("155")) == "sip:155@sip.example.net"
    assert plain.credentials is None
    assert plain.status.state == TrunkState.REGISTERING
    other = Trunk(trunk_config(host="10.0.0.9:5080", username="u", register=False), ua)
    assert str(other.uri_for("155")) == "sip:155@10.0.0.9:5080"
    assert other.credentials is not None and other.credentials.username == "u"
    assert other.status.state == TrunkState.IP_AUTH
    assert other.status.as_dict() == {"state": "ip-auth", "last_error": "", "expires_in": 0}


def test_inbound_calls_are_the_carriers_only_from_its_addresses(ua: UserAgent) -> None:
    trunk = Trunk(trunk_config(host="10.0.0.9", inbound_from=["10.0.1.1", "10.0.2.2:5070"]), ua)
    assert trunk.accepts_from("10.0.0.9", 5060)
    assert not trunk.accepts_from("10.0.0.9", 5070)  # the trunk's address, another port
    assert trunk.accepts_from("10.0.1.1", 40000)  # any port
    assert trunk.accepts_from("10.0.2.2", 5070)
    assert not trunk.accepts_from("10.0.2.2", 5060)
    assert not trunk.accepts_from("10.6.6.6", 5060)
    # over UDP the carrier's port must match; a TLS trunk takes its carrier's connections
    # from any port, but only over TLS
    tls = Trunk(trunk_config(host="10.0.0.9", transport="TLS", register=False), ua)
    assert tls.port == 5061
    assert tls.accepts_from("10.0.0.9", 43210, "TLS")
    assert not tls.accepts_from("10.0.0.9", 43210, "TCP")
    assert not tls.accepts_from("10.0.0.9", 43210, "UDP")
    assert not tls.accepts_from("10.6.6.6", 43210, "TLS")
    assert not trunk.accepts_from("10.0.0.9", 43210, "TCP")  # a UDP trunk


async def test_an_ipv6_carrier(ua: UserAgent) -> None:
    # 2001:2::/48 is IPv6's benchmark range (RFC 5180); nothing is sent there
    trunk = Trunk(
        trunk_config(host="[2001:2::9]:5070", inbound_from=["[2001:2::1]:5080", "2001:2::2"]), ua
    )
    assert trunk.host == "2001:2::9" and trunk.port == 5070
    assert str(trunk.uri_for("155")) == "sip:155@[2001:2::9]:5070"
    assert trunk.accepts_from("2001:2::9", 5070)
    assert trunk.accepts_from("2001:2::1", 5080) and not trunk.accepts_from("2001:2::1", 5081)
    assert trunk.accepts_from("2001:2::2", 40000)  # a bare IPv6 literal: any port
    with pytest.raises(SipError, match="no address of a family this machine serves"):
        await trunk.resolve()  # `ua` listens on IPv4 only
    ipv6 = UserAgent("::1", 0, lambda st: None)
    await ipv6.start()
    try:
        bare = Trunk(trunk_config(host="::1"), ipv6)
        assert (bare.host, bare.port) == ("::1", 5060)
        await bare.resolve()
        assert bare.peer == Peer("UDP", "::1", 5060)
    finally:
        await ipv6.stop()


async def test_registers_with_digest_refreshes_and_unregisters(
    carrier: Switch, ua: UserAgent
) -> None:
    trunk = registering(carrier, ua, expires=2)
    trunk.start()
    registrar = carrier.registrar
    assert registrar is not None
    await until(lambda: trunk.status.state == TrunkState.REGISTERED)
    assert 0 < trunk.status.expires_at - time.time() <= 2
    (binding,) = registrar.contacts("101")
    assert binding.source_port == ua.port
    first = binding.cseq
    # a 2 s grant is refreshed at half time
    await until(lambda: registrar.contacts("101")[0].cseq > first, timeout=4)
    assert trunk.status.state == TrunkState.REGISTERED
    await trunk.stop()
    assert trunk.status.state == TrunkState.UNREGISTERED
    assert registrar.contacts("101") == []


async def test_a_rejected_password_backs_off_then_recovers(
    carrier: Switch, ua: UserAgent, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.setattr(trunk_module, "RETRY_MIN", 0.1)
    caplog.set_level(logging.WARNING, logger="softswitch.trunk")
    trunk = registering(carrier, ua, password="wrong")
    trunk.start()
    try:
        failures = lambda: [r for r in caplog.records if "failing" in r.getMessage()]  # noqa: E731
        await until(lambda: len(failures()) >= 4)
        assert trunk.status.state == TrunkState.FAILING
        assert trunk.status.last_error.startswith("authentication rejected (401")
        times = [r.created for r in failures()]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        # 0.1 s, 0.2 s, 0.4 s: each wait doubles
        assert gaps[0] >= 0.09 and gaps[2] > 2 * gaps[0]
        trunk.config.password = "pw101"
        await until(lambda: trunk.status.state == TrunkState.REGISTERED)
    finally:
        await trunk.stop()


async def test_too_brief_an_interval_is_raised_to_the_carriers_minimum(
    tmp_path: Path, ua: UserAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trunk_module, "RETRY_MIN", 0.1)
    config = switch_config(tmp_path, 0, 36100, extensions={"101": "pw101"}, sip={"min_expires": 90})
    carrier = Switch(config, announce=lambda line: None)
    await carrier.start()
    trunk = registering(carrier, ua, expires=30)
    trunk.start()
    try:
        await until(lambda: trunk.status.state == TrunkState.REGISTERED)
        assert trunk.config.expires == 90
        assert 80 < trunk.status.expires_at - time.time() <= 90
    finally:
        await trunk.stop()
        await carrier.stop()


async def test_an_unknown_host_is_failing_not_fatal(ua: UserAgent) -> None:
    trunk = Trunk(trunk_config(host="no-such-host.invalid", register=False), ua)
    trunk.start()
    await until(lambda: trunk.status.state == TrunkState.FAILING)
    assert "cannot resolve" in trunk.status.last_error
    await trunk.stop()


@pytest.fixture
async def tls_carrier(tmp_path: Path) -> AsyncIterator[Switch]:
    """The carrier listening for TLS with a self-signed certificate for 127.0.0.1."""
    config = switch_config(
        tmp_path, 0, 36200, extensions={"101": "pw101"}, sip={"tls_listen": f"{HOST}:0"}
    )
    switch = Switch(config, announce=lambda line: None)
    await switch.start()
    yield switch
    await switch.stop()


def over_tls(carrier: Switch, ua: UserAgent, host: str = HOST, **overrides: object) -> Trunk:
    config = trunk_config(
        host=f"{host}:{carrier.ua.transport.tls_port}",
        username="101",
        password="pw101",
        transport="TLS",
        **overrides,
    )
    return Trunk(config, ua)


async def test_registers_over_tls_verifying_the_carrier(tls_carrier: Switch, ua: UserAgent) -> None:
    assert tls_carrier.tls is not None
    trunk = over_tls(tls_carrier, ua, ca_file=str(tls_carrier.tls.certificate))
    trunk.start()
    try:
        await until(lambda: trunk.status.state == TrunkState.REGISTERED)
        assert tls_carrier.registrar is not None
        (binding,) = tls_carrier.registrar.contacts("101")
        assert binding.transport == "TLS"
        assert binding.contact.endswith(";transport=tls")
    finally:
        await trunk.stop()
    assert trunk.status.state == TrunkState.UNREGISTERED


@pytest.mark.parametrize(
    ("host", "overrides", "error"),
    [
        # the system's CAs do not know a self-signed carrier
        (HOST, {}, "certificate verify failed"),
        # the right CA, but the certificate does not name the trunk host
        ("localhost", {"ca_file": "carrier"}, "certificate verify failed"),
    ],
)
async def test_a_carrier_certificate_that_does_not_verify_is_a_failing_trunk(
    tls_carrier: Switch,
    ua: UserAgent,
    host: str,
    overrides: dict[str, str],
    error: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trunk_module, "RETRY_MIN", 0.1)
    assert tls_carrier.tls is not None
    if overrides.get("ca_file") == "carrier":
        overrides = {"ca_file": str(tls_carrier.tls.certificate)}
    trunk = over_tls(tls_carrier, ua, host=host, **overrides)
    trunk.start()
    try:
        await until(lambda: trunk.status.state == TrunkState.FAILING)
        assert error in trunk.status.last_error
        assert tls_carrier.registrar is not None and tls_carrier.registrar.contacts("101") == []
    finally:
        await trunk.stop()
    # told explicitly not to verify, the same carrier is accepted
    trusting = over_tls(tls_carrier, ua, host=host, verify=False)
    trusting.start()
    try:
        await until(lambda: trusting.status.state == TrunkState.REGISTERED)
    finally:
        await trusting.stop()


# -- keepalive: OPTIONS pings to the carrier -----------------------------------------

FAST = Timers(t1=0.05, t2=0.2, t4=0.2)  # an unanswered ping times out in 3.2 s


class Carrier(asyncio.DatagramProtocol):
    """A carrier on a real UDP socket: answers REGISTER 200, OPTIONS with `options`
    (None: silence), INVITE 486; keeps every request it got."""

    def __init__(self) -> None:
        self.options: int | None = 200
        self.requests: list[Request] = []
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls, host: str = HOST) -> tuple[Carrier, int]:
        loop = asyncio.get_running_loop()
        transport, carrier = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        carrier.transport = transport
        return carrier, transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        message = parse_message(data)
        if not isinstance(message, Request) or message.method == "ACK":
            return
        self.requests.append(message)
        status = {"REGISTER": 200, "OPTIONS": self.options, "INVITE": 486}.get(message.method)
        if status is None:
            return
        response = message.make_response(status, to_tag="carrier")
        if message.method == "REGISTER":
            response.headers.add("Contact", f"{message.headers.get('Contact')};expires=300")
        assert self.transport is not None
        self.transport.sendto(response.to_bytes(), addr)

    def of(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method]

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@pytest.fixture
async def fast_ua() -> AsyncIterator[UserAgent]:
    ua = UserAgent(HOST, 0, lambda st: None, timers=FAST)
    await ua.start()
    yield ua
    await ua.stop()


def test_keepalive_defaults_to_25_s_for_a_registering_trunk_and_off_for_ip_auth(
    ua: UserAgent,
) -> None:
    assert trunk_config(username="u").keepalive_interval == 25
    assert trunk_config(register=False).keepalive_interval == 0
    assert trunk_config(register=False, keepalive=40).keepalive_interval == 40
    assert trunk_config(username="u", keepalive=0).keepalive_interval == 0
    off = Trunk(trunk_config(register=False), ua)
    assert off.health() == {
        "state": "ip-auth",
        "last_error": "",
        "expires_in": 0,
        "carrier": CarrierState.OFF,
    }
    assert Trunk(trunk_config(username="u"), ua).health()["carrier"] == "unknown"


@asynccontextmanager
async def carrier_trunk(
    ua: UserAgent, **config: object
) -> AsyncIterator[tuple[Trunk, Carrier, int]]:
    """A trunk (user u, password p, ``config``) registered with a Carrier on a local
    port: the trunk, the carrier and its port; stopped and closed after."""
    carrier, port = await Carrier.open()
    trunk = Trunk(trunk_config(host=f"{HOST}:{port}", username="u", password="p", **config), ua)
    trunk.start()
    try:
        await until(lambda: trunk.status.state == TrunkState.REGISTERED)
        yield trunk, carrier, port
    finally:
        await trunk.stop()
        carrier.close()


async def test_keepalive_pings_the_carrier_and_tracks_whether_it_answers(
    fast_ua: UserAgent,
) -> None:
    async with carrier_trunk(fast_ua, keepalive=1) as (trunk, carrier, port):
        await until(lambda: trunk.health()["carrier"] == "reachable", timeout=3)
        (ping,) = carrier.of("OPTIONS")
        # to the carrier itself (no user: kamailio answers those), from our port
        assert str(ping.uri) == f"sip:{HOST}:{port}"
        assert f"SIP/2.0/UDP {HOST}:{fast_ua.port};" in (ping.headers.get("Via") or "")
        assert ping.from_addr.uri.user == "u"
        # a carrier that does not do OPTIONS still answered: alive
        carrier.options = 405
        await until(lambda: trunk.keepalive.last_status == 405, timeout=3)
        assert trunk.health()["carrier"] == "reachable"
        # silence: unreachable once the ping times out (timer F)
        carrier.options = None
        await until(lambda: trunk.health()["carrier"] == "unreachable", timeout=10)
        assert trunk.keepalive.last_status == 408
        assert trunk.status.state == TrunkState.REGISTERED  # the registration is another matter
        # and it recovers as soon as the carrier answers again
        carrier.options = 200
        await until(lambda: trunk.health()["carrier"] == "reachable", timeout=3)
        assert trunk.keepalive.sent >= 4
    pings = len(carrier.of("OPTIONS"))
    await asyncio.sleep(1.2)
    assert len(carrier.of("OPTIONS")) == pings  # stopped with the trunk


async def test_a_carrier_that_refuses_the_connection_is_unreachable(fast_ua: UserAgent) -> None:
    carrier, port = await Carrier.open()
    carrier.close()  # nobody listens there now: TCP is refused
    trunk = Trunk(
        trunk_config(host=f"{HOST}:{port}", register=False, transport="TCP", keepalive=1), fast_ua
    )
    await trunk.resolve()
    assert await trunk.keepalive.ping() == CarrierState.UNREACHABLE
    assert trunk.keepalive.last_status == 503


async def test_no_pings_with_keepalive_0(fast_ua: UserAgent) -> None:
    async with carrier_trunk(fast_ua, keepalive=0) as (trunk, carrier, _):
        await asyncio.sleep(1.5)
        assert carrier.of("OPTIONS") == []
        assert trunk.health()["carrier"] == "off"


# -- behind NAT: what the carrier is told ---------------------------------------------

# The router's outside address in these tests: only ever advertised, never addressed.
EXTERNAL = "198.18.255.254"


def _sent_by(request: Request) -> str:
    via = Via.parse(request.headers.get("Via") or "")
    return f"{via.host}:{via.port}"


def _sdp_addresses(request: Request) -> tuple[str, str]:
    """The o= and c= addresses of a request's SDP."""
    lines = request.body.decode().splitlines()
    origin = next(line for line in lines if line.startswith("o="))
    connection = next(line for line in lines if line.startswith("c="))
    return origin.split()[-1], connection.split()[-1]


@pytest.mark.parametrize("rtp_address", ["0.0.0.0", "lan"])
async def test_behind_nat_the_carrier_is_told_the_external_address_and_a_local_phone_the_local(
    tmp_path: Path, netlab: NetLab, rtp_address: str
) -> None:
    """With external_address set, REGISTER, OPTIONS, INVITE and its SDP name it to a
    carrier outside local_networks; a phone on loopback is told the local address.
    RTP on a wildcard or bound to one local address: the carrier gets the external
    one either way."""
    lan = netlab.lan_host()  # gives this host a non-loopback address: lan.gateway
    carrier, carrier_port = await Carrier.open(lan.gateway)
    fixed_rtp = lan.gateway if rtp_address == "lan" else ""
    config = switch_config(
        tmp_path,
        0,
        36300,
        listen_host="0.0.0.0",
        sip={"external_address": EXTERNAL, "local_networks": ["198.19.0.0/16"]},
        rtp={"address": fixed_rtp or "0.0.0.0"},
        trunks=[
            {
                "name": "carrier",
                "host": f"{lan.gateway}:{carrier_port}",
                "username": "u",
                "password": "p",
                "keepalive": 1,
            }
        ],
    )
    switch = Switch(config, announce=lambda line: None)
    await switch.start()
    phone = await RawUdp.open()
    try:
        port = switch.ua.port
        (trunk,) = switch.trunks
        await until(lambda: trunk.health()["carrier"] == "reachable", timeout=4)
        register = carrier.of("REGISTER")[0]
        assert _sent_by(register) == f"{EXTERNAL}:{port}"
        assert register.headers.get("Contact") == f"<sip:u@{EXTERNAL}:{port}>"
        ping = carrier.of("OPTIONS")[0]
        assert _sent_by(ping) == f"{EXTERNAL}:{port}"

        outbound = await switch.originate("5551000")
        await until(lambda: bool(carrier.of("INVITE")))
        invite = carrier.of("INVITE")[0]
        assert _sent_by(invite) == f"{EXTERNAL}:{port}"
        assert invite.headers.get("Contact") == f"<sip:{EXTERNAL}:{port}>"
        assert _sdp_addresses(invite) == (EXTERNAL, EXTERNAL)
        await outbound.wait(ChannelState.HUNGUP, timeout=5)  # the carrier said 486

        # a phone on loopback is told the local address, even with external_address set
        switch.store.put_binding(
            Binding(
                aor="101",
                contact=f"sip:101@{HOST}:{phone.port}",
                expires_at=time.time() + 60,
                call_id="reg-101",
                cseq=1,
                transport="UDP",
                source_host=HOST,
                source_port=phone.port,
            )
        )
        inside = await switch.originate("101")
        to_phone = await phone.next()
        while not isinstance(to_phone, Request) or to_phone.method != "INVITE":
            to_phone = await phone.next()
        assert _sent_by(to_phone) == f"{HOST}:{port}"
        assert to_phone.headers.get("Contact") == f"<sip:{HOST}:{port}>"
        local_media = fixed_rtp or HOST
        assert _sdp_addresses(to_phone) == (local_media, local_media)
        phone.send(to_phone.make_response(486, to_tag="busy").to_bytes(), port)
        await inside.wait(ChannelState.HUNGUP, timeout=5)
    finally:
        phone.close()
        await switch.stop()
        carrier.close()
