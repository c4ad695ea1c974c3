"""A started switch with no peers: extensions nobody registered, and a carrier trunk
(127.0.0.1:9) that never answers, so an originated call to a trunk number is a real
channel that stays down until hung up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from media.tts import Tts
from softswitch.calls import CallService
from softswitch.switch import Switch
from tests.peers.ports import PortPicker
from tests.switch_harness import switch_config

ACCOUNT = "account_1"
FAR = "919979271234"  # routes to the silent carrier


@pytest.fixture
async def switch(tmp_path: Path, ports: PortPicker, rtp_ports: PortPicker) -> AsyncIterator[Switch]:
    config = switch_config(
        tmp_path,
        ports.port(),
        rtp_ports.block(100),
        extensions={"101": "pw101"},
        trunks=[
            {
                "name": "carrier",
                "host": "127.0.0.1:9",
                "register": False,
                "prefixes": [""],
                "account": ACCOUNT,
            }
        ],
        accounts={ACCOUNT: "secret-one", "account_2": "secret-two"},
    )
    switch = Switch(config, announce=lambda line: None)
    await switch.start()
    yield switch
    await switch.stop()
    switch.store.close()


@pytest.fixture
async def service(switch: Switch) -> AsyncIterator[CallService]:
    media = switch.config.media
    calls = CallService.configured(
        switch, Tts(Path(media.prompts_dir), engine="flite", allow_online=False)
    )
    yield calls
    await calls.stop(grace=0.5)
