"""The media engine through real calls: speech, digits, recordings after a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from media.asr import transcriber
from media.tones import dtmf_tone
from softswitch.flowmodel import parse_flow
from tests.e2e.phones import registered
from tests.peers.audio import read_wav, write_wav
from tests.peers.baresip import BaresipAccount
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

ACCOUNT = "account_1"
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def start_flow(harness, steps: list, number: str = "102", variables: dict | None = None):
    flow = parse_flow(steps)

    async def dial():
        return await harness.calls.dial_flow(
            account_id=ACCOUNT,
            number=number,
            caller_id="555",
            flow=flow,
            variables=variables or {},
            request_id="0123456789",
            context="otp",
            direction="outbound-api",
        )

    return asyncio.run_coroutine_threadsafe(dial(), harness.loop)


# pocketsphinx recognizes espeak-ng's male voice poorly even before any call
# ("four one one nine" for 471926): the female voice is used for that engine.
@pytest.mark.parametrize("engine, voice", [("flite", "Matthew"), ("espeak-ng", "Joanna")])
def test_spoken_digits_are_recognized_after_the_call(server_factory, phone_factory, engine, voice):
    harness = server_factory(media={"tts_engine": engine})
    callee = registered(phone_factory, harness, "102", tone_hz=0.0, seconds=40)
    outcome = start_flow(
        harness,
        [
            {"type": "say", "text": "{otp}", "spell": ["otp"], "voice": voice, "rate": "slow"},
            {"type": "pause", "seconds": 1},
        ],
        variables={"otp": "471926"},
    )
    callee.wait_call_established()
    callee.wait_call_closed(timeout=30)
    assert outcome.result(10).answered
    samples, rate = read_wav(callee.last_recording())
    heard = transcriber().transcribe(samples, rate, words=DIGITS).split()
    # pocketsphinx is weaker on espeak-ng's voice: allow it one missed digit
    # (it hears "eight" for espeak-ng's "six" without any call in between)
    wanted = ["four", "seven", "one", "nine", "two", "six"]
    assert heard, "nothing recognized"
    hits = _in_order(heard, wanted)
    assert hits >= (len(wanted) if engine == "flite" else len(wanted) - 1), heard


def _in_order(heard: list[str], wanted: list[str]) -> int:
    position = 0
    for word in heard:
        if position < len(wanted) and word == wanted[position]:
            position += 1
    return position


def test_inband_and_rfc4733_digits_reach_the_flow(server_factory, phone_factory, tmp_path):
    harness = server_factory()
    # the phone "says" in-band tones 1, 5, 9 after a second of silence
    gap = np.zeros(4000, dtype=np.int16)
    audio = np.concatenate(
        [np.zeros(8000, dtype=np.int16)]
        + [np.concatenate([dtmf_tone(d, 120), gap]) for d in "159"]
        + [np.zeros(8000 * 20, dtype=np.int16)]
    )
    wav = write_wav(tmp_path / "tones.wav", audio)
    callee = registered(phone_factory, harness, "102", wav=wav)
    outcome = start_flow(
        harness,
        [
            {"type": "gather", "num_digits": 3, "timeout": 6, "name": "inband"},
            {"type": "report", "header": "inband", "value": "{inband}", "order": 1},
            {"type": "gather", "num_digits": 2, "timeout": 6, "name": "events"},
            {"type": "report", "header": "events", "value": "{events}", "order": 2},
        ],
    )
    callee.wait_call_established()
    time.sleep(3.5)  # the tones have played by now
    for digit in "42":
        callee.send_dtmf(digit)
        time.sleep(0.4)
    result = outcome.result(30)
    assert result.report_data == [("inband", "159", 1), ("events", "42", 2)]


def test_speech_does_not_produce_digits(server_factory, phone_factory, tmp_path):
    harness = server_factory()
    speech = tmp_path / "speech.wav"
    subprocess.run(
        [
            "flite",
            "-t",
            "Hello, I would like to ask about my order from last "
            "Tuesday. It was number four hundred and twelve, and the delivery "
            "never arrived. Could you please check what happened to it?",
            "-o",
            str(speech),
        ],
        check=True,
    )
    from media.prompt import load_audio

    wav = write_wav(tmp_path / "speech8k.wav", np.tile(load_audio(speech), 3))
    callee = registered(phone_factory, harness, "102", wav=wav)
    outcome = start_flow(
        harness,
        [
            {"type": "gather", "num_digits": 1, "timeout": 8, "name": "key"},
            {"type": "set_result", "value": "pressed {key}"},
        ],
    )
    callee.wait_call_established()
    assert outcome.result(30).result == "pressed "


def test_recordings_are_valid_after_the_process_is_killed(
    tmp_path, ports, rtp_ports, phone_factory
):
    from tests.switch_harness import switch_config

    sip_port, api_port = ports.port(), ports.port()
    config = switch_config(
        tmp_path / "srv",
        sip_port,
        rtp_ports.block(100),
        api_port=api_port,
        accounts={ACCOUNT: "secret-one"},
    )
    toml = tmp_path / "softswitch.toml"
    toml.write_text(_toml(config))
    recordings = Path(config.media.recordings_dir) / ACCOUNT
    server = _serve(toml, tmp_path)
    try:
        wait_until(lambda: _healthy(api_port), 20, what="switch up")
        agent = phone_factory(
            BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{sip_port}"), tone_hz=440.0
        )
        customer = phone_factory(
            BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{sip_port}"), tone_hz=1000.0
        )
        agent.wait_registered()
        customer.wait_registered()
        response = httpx.post(
            f"http://127.0.0.1:{api_port}/api/click2call",
            json={
                "agent_number": "101",
                "destination_number": "102",
                "caller_id": "555",
                "recording_option": "both",
            },
            headers={"account": ACCOUNT, "auth": "secret-one"},
        )
        assert response.json()["response"]["success"] == "true"
        customer.wait_call_established()
        time.sleep(3.5)
        os.kill(server.pid, signal.SIGKILL)  # no clean shutdown, no header update
        server.wait(10)
    finally:
        if server.poll() is None:
            server.kill()
    files = sorted(recordings.glob("*.wav"))
    assert len(files) == 3
    server = _serve(toml, tmp_path)  # start-up repairs the headers
    try:
        wait_until(lambda: _healthy(api_port), 20, what="switch up again")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
    for path in files:
        samples, rate = read_wav(path)  # a valid WAV whose header matches its data
        assert rate == 8000
        assert 2.0 < len(samples) / rate < 4.5, path  # at most ~1 s lost to the kill
    agent_leg = next(p for p in files if p.name.endswith("-agent.wav"))
    from tests.peers.audio import dominant_frequency

    assert abs(dominant_frequency(agent_leg) - 440) < 15


def _serve(toml: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "softswitchd", "serve", "--config", str(toml)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _healthy(api_port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _toml(config) -> str:
    lines = [
        "[sip]",
        f'listen = "{config.sip.listen}"',
        "[rtp]",
        f'address = "{config.rtp.address}"',
        f'ports = "{config.rtp.ports}"',
        "[api]",
        f'listen = "{config.api.listen}"',
        "[store]",
        f'path = "{config.store.path}"',
        "[media]",
        f'recordings_dir = "{config.media.recordings_dir}"',
        f'uploads_dir = "{config.media.uploads_dir}"',
        f'prompts_dir = "{config.media.prompts_dir}"',
    ]
    for ext in config.extensions:
        lines += ["[[extensions]]", f'number = "{ext.number}"', f'password = "{ext.password}"']
    for account in config.accounts:
        lines += ["[[accounts]]", f'id = "{account.id}"', f'auth = "{account.auth}"']
    return "\n".join(lines) + "\n"
