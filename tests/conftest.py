"""Shared fixtures: free ports, a switch running in its own loop, baresip phones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from softswitch.sip.transaction import Timers
from tests.peers.audio import make_tone_wav
from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.fixtures import *  # noqa: F401,F403  (kamailio, sipp, pyvoip_factory, ...)
from tests.peers.netns import LanHost, NatHost
from tests.peers.ports import PortPicker
from tests.peers.postgres import *  # noqa: F401,F403  (postgres_server, postgres_url, store_url)
from tests.server_harness import ServerHarness
from tests.switch_harness import SwitchHarness, switch_config


@pytest.fixture(scope="session")
def ports(peer_ports: PortPicker) -> PortPicker:
    # one picker for every peer and switch, so no two of them get the same port
    return peer_ports


@pytest.fixture(scope="session")
def rtp_ports() -> PortPicker:
    # the switch's RTP ranges: blocks of 100 in 20000-29999, apart from the peers' ports
    return PortPicker(first=20000, last=29999)


def _harnesses(make_one: Callable[..., SwitchHarness]) -> Iterator[Callable[..., Any]]:
    started: list[SwitchHarness] = []

    def make(**kwargs: Any) -> Any:
        harness = make_one(len(started), **kwargs)
        started.append(harness)
        harness.start()
        return harness

    yield make
    for harness in started:
        harness.stop()


def _release(ports: PortPicker, rtp_ports: PortPicker, taken: list[tuple[int, int]]) -> None:
    """Give a stopped switch's SIP port and RTP block back (and drop their cross-process
    locks): the RTP range holds only 100 blocks, fewer than the switches of one run."""
    for sip_port, rtp_first in taken:
        ports.release(sip_port)
        rtp_ports.release(rtp_first, 100)


@pytest.fixture
def switch_factory(
    tmp_path: Path, ports: PortPicker, rtp_ports: PortPicker
) -> Iterator[Callable[..., SwitchHarness]]:
    """Start a switch on free ports: ``switch_factory(extensions=..., trunks=...)``;
    ``netns=host.name`` runs it on a namespace host, ``timers=Timers(...)`` shrinks
    its SIP timers."""

    taken: list[tuple[int, int]] = []

    def one(
        index: int, netns: str | None = None, timers: Timers | None = None, **kwargs: Any
    ) -> SwitchHarness:
        sip_port, rtp_first = ports.port(), rtp_ports.block(100)
        taken.append((sip_port, rtp_first))
        return SwitchHarness(
            switch_config(tmp_path / f"switch{index}", sip_port, rtp_first, **kwargs),
            netns=netns,
            timers=timers,
        )

    yield from _harnesses(one)
    _release(ports, rtp_ports, taken)


@pytest.fixture
def server_factory(
    tmp_path: Path, ports: PortPicker, rtp_ports: PortPicker
) -> Iterator[Callable[..., ServerHarness]]:
    """The whole process (switch + call service + HTTP API): ``server_factory(accounts=...)``;
    ``timers=Timers(...)`` shrinks its SIP timers."""

    taken: list[tuple[int, int]] = []

    def one(index: int, timers: Timers | None = None, **kwargs: Any) -> ServerHarness:
        kwargs.setdefault("accounts", {"account_1": "secret-one", "account_2": "secret-two"})
        sip_port, rtp_first = ports.port(), rtp_ports.block(100)
        taken.append((sip_port, rtp_first))
        return ServerHarness(
            switch_config(
                tmp_path / f"server{index}",
                sip_port,
                rtp_first,
                api_port=ports.port(),
                **kwargs,
            ),
            timers=timers,
        )

    yield from _harnesses(one)
    _release(ports, rtp_ports, taken)


@pytest.fixture
def phone_factory(tmp_path: Path, ports: PortPicker) -> Iterator[Callable[..., Baresip]]:
    """Start a baresip phone: ``phone_factory(account, tone_hz=440, seconds=30)``."""
    phones: list[Baresip] = []

    def make(
        account: BaresipAccount,
        tone_hz: float = 440.0,
        seconds: float = 60.0,
        wav: Path | None = None,
        extra_config: dict[str, str] | None = None,
        netns_host: LanHost | NatHost | None = None,
        sip_trace: bool = False,
        host: str | None = None,
        extra_apps: list[str] | None = None,
        contacts: list[str] | None = None,
    ) -> Baresip:
        """`wav` (8 kHz mono) replaces the tone as what the phone says; `extra_config`
        adds or overrides baresip config lines (e.g. ``sip_cafile`` for TLS); `netns_host`
        (from the `netlab` fixture) runs the phone on that namespace host; `sip_trace`
        logs the SIP messages it sends and receives; `host` binds it to another
        loopback address of this host (``::1`` for an IPv6 phone); `contacts` are its
        contacts file's lines (``;presence=p2p`` ones watched with presence.so)."""
        workdir = tmp_path / f"phone-{account.user}-{len(phones)}"
        workdir.mkdir(parents=True)
        if wav is None:
            wav = make_tone_wav(workdir / "mic.wav", tone_hz, seconds)
        placement: dict[str, str] = (
            {} if netns_host is None else {"host": netns_host.address, "netns": netns_host.name}
        )
        if host is not None:
            placement["host"] = host
        phone = Baresip(
            workdir,
            account,
            ports.block(10),
            wav,
            sip_trace=sip_trace,
            extra_config=extra_config,
            extra_apps=extra_apps,
            contacts=contacts,
            **placement,
        )
        phones.append(phone)
        phone.start()
        return phone

    yield make
    for phone in phones:
        phone.kill()
