"""Runs a real Switch in a background thread with its own event loop.

End-to-end tests drive blocking peers (baresip, sipp, kamailio) from the test thread
while the switch keeps serving SIP and RTP in its loop, exactly as in production.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import uvloop

from softswitch.config import Config, ExtensionConfig, TrunkConfig, from_dict
from softswitch.switch import Switch

from .peers.netns import enter

T = TypeVar("T")

HOST = "127.0.0.1"


def ip_trunk(name: str, port: int, host: str = HOST, **extra: Any) -> dict[str, Any]:
    """An [[trunks]] entry for a peer at ``host:port`` that does not register (sipp, a
    test's carrier): calls from that address count as the trunk's."""
    return {"name": name, "host": f"{host}:{port}", "register": False, **extra}


def switch_config(
    tmp_path: Path,
    sip_port: int,
    rtp_first: int,
    *,
    extensions: dict[str, str | dict[str, Any]] | None = None,
    trunks: list[dict[str, Any]] | None = None,
    sip: dict[str, Any] | None = None,
    accounts: dict[str, str] | None = None,
    api_port: int = 0,
    media: dict[str, Any] | None = None,
    rtp: dict[str, Any] | None = None,
    listen_host: str = HOST,
    api_limits: dict[str, Any] | None = None,
    sip_connections: dict[str, Any] | None = None,
    conferences: list[dict[str, Any]] | None = None,
    numbers: list[dict[str, Any]] | None = None,
    ring_groups: list[dict[str, Any]] | None = None,
    sip_limits: dict[str, Any] | None = None,
    extension_options: dict[str, dict[str, Any]] | None = None,
    voicemail: dict[str, Any] | None = None,
    webhooks: dict[str, Any] | None = None,
) -> Config:
    """listen_host: where SIP and RTP bind ("0.0.0.0" for phones on namespace hosts);
    extension_options: more keys of some [[extensions]] (``{"102": {"voicemail": True}}``)."""
    data: dict[str, Any] = {
        "sip": {"listen": f"{listen_host}:{sip_port}", **(sip or {})},
        "rtp": {"address": listen_host, "ports": f"{rtp_first}-{rtp_first + 99}", **(rtp or {})},
        "api": {"listen": f"{HOST}:{api_port}"},
        "api_limits": api_limits or {},
        "sip_connections": sip_connections or {},
        "sip_limits": sip_limits or {},
        "store": {"path": str(tmp_path / "switch.db")},
        "media": {
            "recordings_dir": str(tmp_path / "rec"),
            "uploads_dir": str(tmp_path / "up"),
            "prompts_dir": str(tmp_path.parent / "prompts"),
            **(media or {}),
        },
        "extensions": [
            {
                "number": n,
                **(p if isinstance(p, dict) else {"password": p}),
                **(extension_options or {}).get(n, {}),
            }
            for n, p in (extensions or {"101": "pw101", "102": "pw102"}).items()
        ],
        "voicemail": {"dir": str(tmp_path / "voicemail"), **(voicemail or {})},
        "webhooks": webhooks or {},
        "trunks": trunks or [],
        "accounts": [{"id": i, "auth": a} for i, a in (accounts or {}).items()],
        "conferences": conferences or [],
        "numbers": numbers or [],
        "ring_groups": ring_groups or [],
    }
    return from_dict(data, {})


class SwitchHarness:
    """netns: the network namespace the switch runs in (a tests/peers/netns.py host's
    name): its loop thread moves there before opening any socket."""

    def __init__(self, config: Config, *, netns: str | None = None, **switch_kwargs: Any) -> None:
        self.config = config
        self.netns = netns
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(target=self._run_loop, name="switch-loop", daemon=True)
        self.announced: list[str] = []
        self.switch: Switch | None = None
        self._kwargs = switch_kwargs

    def _run_loop(self) -> None:
        if self.netns is not None:
            enter(self.netns)
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> Switch:
        self.thread.start()

        async def make() -> Switch:
            switch = Switch(self.config, announce=self.announced.append, **self._kwargs)
            await switch.start()
            return switch

        self.switch = self.run(make())
        return self.switch

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine in the switch's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn, *args: Any) -> Any:
        """Call a plain function in the switch's loop (switch state is not thread-safe)."""

        async def wrapper() -> Any:
            return fn(*args)

        return self.run(wrapper())

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        if self.switch is not None:
            try:
                self.run(self.switch.stop(), timeout=40)
            finally:
                self.switch = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.loop.is_running():
            self.loop.close()


__all__ = ["SwitchHarness", "switch_config", "ExtensionConfig", "TrunkConfig"]
