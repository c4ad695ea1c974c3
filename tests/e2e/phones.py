"""Baresip phones registered with the switch under test, as the e2e tests make them:
one on loopback (``registered``), or the LAN, NAT and IPv6 tests' pair of 101 registered
from elsewhere (a namespace host, ::1) and 102 on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.peers.baresip import Baresip, BaresipAccount
from tests.switch_harness import SwitchHarness


def registered(
    phone_factory: Callable[..., Baresip],
    harness: SwitchHarness,
    number: str,
    tone_hz: float = 440.0,
    *,
    answermode: str = "auto",
    **phone_options: Any,
) -> Baresip:
    """Extension ``number`` (password pw<number>) on a phone registered with ``harness``
    over loopback, saying ``tone_hz``; ``phone_options`` go to ``phone_factory``."""
    port = harness.config.sip_host_port[1]
    account = BaresipAccount(
        number, f"pw{number}", registrar=f"127.0.0.1:{port}", answermode=answermode
    )
    phone = phone_factory(account, tone_hz=tone_hz, **phone_options)
    phone.wait_registered()
    return phone


def far_and_local_phones(
    switch_factory: Callable[..., SwitchHarness],
    phone_factory: Callable[..., Baresip],
    registrar_host: str,
    far_tone: float,
    local_tone: float,
    **far_options: Any,
) -> tuple[SwitchHarness, Baresip, Baresip]:
    """The switch; 101, registered at ``registrar_host`` (the switch as that phone reaches
    it) and placed by ``far_options`` (netns_host=, host=, sip_trace=); 102 on 127.0.0.1."""
    harness = switch_factory(listen_host="0.0.0.0")
    port = harness.config.sip_host_port[1]
    far = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"{registrar_host}:{port}"),
        tone_hz=far_tone,
        **far_options,
    )
    local = phone_factory(
        BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}"), tone_hz=local_tone
    )
    far.wait_registered()
    local.wait_registered()
    return harness, far, local
