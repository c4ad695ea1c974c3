"""/api/voicemail: an account lists, downloads, marks and deletes the messages of the
extensions it owns, through the real switch's voicemail and store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

import api.cpaas
from api.context import AppContext
from media.tts import Tts
from softswitch.accounts import provision_accounts
from softswitch.calls import CallService
from softswitch.store.accounts import AccountStore
from softswitch.switch import Switch
from tests.api.conftest import ACCOUNT_1, ACCOUNT_2
from tests.peers.audio import make_tone_wav
from tests.switch_harness import switch_config


class Env:
    def __init__(self, switch: Switch, client: httpx.AsyncClient) -> None:
        self.switch = switch
        self.client = client

    async def call(self, method: str, path: str, headers=ACCOUNT_1, **kwargs):
        response = await self.client.request(method, path, headers=headers, **kwargs)
        return response

    def leave(self, caller: str, seconds: float = 1.0) -> int:
        vm = self.switch.voicemail
        assert vm is not None
        box = vm.boxes.get("102")
        name = f"m{caller}.wav"
        box.folder.mkdir(parents=True, exist_ok=True)
        make_tone_wav(box.folder / name, 500.0, seconds)
        message = vm.store.add_message("102", caller, 1700000000.0, seconds, name)
        return message.id


@pytest.fixture
async def env(tmp_path: Path, ports) -> AsyncIterator[Env]:
    config = switch_config(
        tmp_path,
        ports.port(),
        29700,
        extensions={"101": "pw101", "102": "pw102", "103": "pw103"},
        extension_options={
            "102": {"voicemail": True, "account": "account_1"},
            "103": {"voicemail": True},  # nobody's: only *97
        },
        accounts={"account_1": "secret-one", "account_2": "secret-two"},
    )
    switch = Switch(config, announce=lambda line: None)
    await switch.start()
    provision_accounts(AccountStore(switch.store.db), config.accounts, lambda line: None)
    tts = Tts(Path(config.media.prompts_dir), engine="flite", allow_online=False)
    calls = CallService.configured(switch, tts)
    app = Starlette(routes=api.cpaas.routes(AppContext(switch=switch, calls=calls, tts=tts)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://cpaas.test"
    ) as client:
        yield Env(switch, client)
    await calls.stop(grace=0.5)
    await switch.stop()
    switch.store.close()


async def test_list_download_mark_and_delete(env: Env) -> None:
    first = env.leave("101")
    second = env.leave("0612345678", 2.0)
    seen: list[tuple[str, int, int]] = []
    env.switch.voicemail.watch(lambda ext, counts: seen.append((ext, counts.new, counts.old)))

    response = await env.call("GET", "/api/voicemail/102/messages")
    assert response.status_code == 200
    body = response.json()["response"]
    assert body["success"] == "true"
    assert [m["message_id"] for m in body["result"]] == [str(first), str(second)]
    assert body["result"][1] == {
        "message_id": str(second),
        "caller": "0612345678",
        "received_at": "Tue, 14 Nov 2023 22:13:20 GMT",
        "duration": 2.0,
        "heard": "false",
        "transcript": "",
    }

    audio = await env.call("GET", f"/api/voicemail/102/messages/{first}/audio")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    path = env.switch.voicemail.boxes.get("102").folder / "m101.wav"
    assert audio.content == path.read_bytes()

    marked = await env.call("PATCH", f"/api/voicemail/102/messages/{first}", json={"heard": True})
    assert marked.status_code == 200, marked.text
    assert seen == [("102", 1, 1)]  # the lamp was told
    new_only = await env.call("GET", "/api/voicemail/102/messages?heard=false")
    assert [m["message_id"] for m in new_only.json()["response"]["result"]] == [str(second)]

    deleted = await env.call("DELETE", f"/api/voicemail/102/messages/{second}")
    assert deleted.status_code == 200
    assert seen[-1] == ("102", 0, 1)
    assert not (path.parent / "m0612345678.wav").exists()
    again = await env.call("DELETE", f"/api/voicemail/102/messages/{second}")
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "headers", "kwargs", "status"),
    [
        ("GET", "/api/voicemail/102/messages", ACCOUNT_2, {}, 404),  # not its box
        ("GET", "/api/voicemail/103/messages", ACCOUNT_1, {}, 404),  # nobody's box
        ("GET", "/api/voicemail/101/messages", ACCOUNT_1, {}, 404),  # no box at all
        ("GET", "/api/voicemail/102/messages", {}, {}, 401),
        ("GET", "/api/voicemail/102/messages?heard=maybe", ACCOUNT_1, {}, 400),
        ("GET", "/api/voicemail/102/messages/99/audio", ACCOUNT_1, {}, 404),
        ("GET", "/api/voicemail/102/messages/x1/audio", ACCOUNT_1, {}, 404),
        ("PATCH", "/api/voicemail/102/messages/1", ACCOUNT_1, {"json": {"heard": "yes"}}, 400),
        ("PATCH", "/api/voicemail/102/messages/1", ACCOUNT_1, {"content": b"{"}, 400),
        ("PATCH", "/api/voicemail/102/messages/99", ACCOUNT_1, {"json": {"heard": True}}, 404),
        ("DELETE", "/api/voicemail/102/messages/99", ACCOUNT_1, {}, 404),
    ],
)
async def test_refusals(env: Env, method, path, headers, kwargs, status) -> None:
    env.leave("101")
    response = await env.call(method, path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["response"]["success"] == "false"
