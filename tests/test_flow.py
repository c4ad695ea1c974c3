"""The flow runner: prompts prepared ahead, then each step kind run on a live channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from media.clock import MediaClock
from media.ports import PortAllocator
from media.recorder import WavWriter
from media.tts import Tts
from softswitch.channel import Channel, ChannelState
from softswitch.channel_audio import ChannelAudio
from softswitch.config import from_dict
from softswitch.flow import FlowAudio, FlowRunner, FlowState, prepare
from softswitch.flowmodel import parse_flow
from softswitch.store import Store
from softswitch.store.voicemail import VoicemailStore
from softswitch.voicemail.service import Voicemail
from tests.legs import Leg, legs, tone, until


@dataclass
class Setup:
    leg: Leg
    media: ChannelAudio
    audio: FlowAudio
    recordings: Path
    connected: list[tuple[str, float, bool]]  # number, timeout, was the flow's audio on
    answer: bool = True

    def runner(self, variables: dict[str, str] | None = None) -> FlowRunner:
        return FlowRunner(
            self.leg.channel,
            self.media,
            self.audio,
            FlowState(dict(variables or {})),
            self.connect,
            self.recordings,
            "req42",
        )

    async def connect(self, channel: Channel, number: str, timeout: float) -> bool:
        # the call service's part: bridge the channel elsewhere; the flow's audio is off
        assert channel is self.leg.channel
        self.connected.append((number, timeout, self.media.active))
        return self.answer


def upload(folder: Path, name: str, frames: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    writer = WavWriter(folder / name)
    for n in range(frames):
        writer.write(tone(n))
    writer.close()


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    clock = MediaClock()
    clock.start()
    async with legs(PortAllocator(35000, 35999)) as made:
        leg = await made.leg()
        media = ChannelAudio(leg.channel, clock)
        media.start()
        upload(tmp_path / "up", "beep.wav", 5)
        audio = FlowAudio(Tts(tmp_path / "tts"), tmp_path / "up")
        yield Setup(leg, media, audio, tmp_path / "rec", [])
        media.stop()
    clock.stop()


async def test_prepare_loads_every_prompt_including_the_branches(setup: Setup) -> None:
    flow = parse_flow(
        [
            {
                "type": "gather",
                "name": "choice",
                "branches": {"1": [{"type": "play", "file": "beep.wav"}]},
                "default": [{"type": "say", "text": "You chose {choice}"}, {"type": "hangup"}],
            }
        ]
    )
    await prepare(flow, {}, setup.audio)
    assert set(setup.audio.files) == {"beep.wav"}
    assert len(setup.audio.files["beep.wav"]) == 5 * 160

    missing = parse_flow([{"type": "pause", "seconds": 1}, {"type": "play", "file": "nope.wav"}])
    with pytest.raises(FileNotFoundError):
        await prepare(missing, {}, setup.audio)


async def test_gather_branches_on_the_keys_and_sets_results(setup: Setup) -> None:
    flow = parse_flow(
        [
            {
                "type": "gather",
                "num_digits": 1,
                "timeout": 5,
                "name": "choice",
                "branches": {
                    "1": [
                        {"type": "set_result", "value": "yes {choice}"},
                        {"type": "report", "header": "Who", "value": "{name}", "order": 2},
                    ]
                },
                "default": [{"type": "set_result", "value": "no"}],
            },
            {"type": "redial", "minutes": 5},
            {"type": "hangup"},
            {"type": "set_result", "value": "never reached"},
        ]
    )
    running = asyncio.ensure_future(setup.runner({"name": "Ann"}).run(flow))
    await asyncio.sleep(0.1)
    setup.leg.phone.send_dtmf("1")
    state = await asyncio.wait_for(running, 5)
    assert state.variables["choice"] == "1" and state.result == "yes 1"
    assert state.report_data == [("Who", "Ann", 2)]
    assert state.redial == (5, None)


async def test_a_gather_nobody_answers_takes_the_default(setup: Setup) -> None:
    flow = parse_flow(
        [
            {
                "type": "gather",
                "timeout": 0.2,
                "branches": {"1": [{"type": "set_result", "value": "yes"}]},
                "default": [{"type": "set_result", "value": "nothing: {digits}."}],
            }
        ]
    )
    state = await asyncio.wait_for(setup.runner().run(flow), 5)
    assert state.result == "nothing: ." and state.variables["digits"] == ""


async def test_play_sends_the_upload_to_the_caller(setup: Setup) -> None:
    flow = parse_flow([{"type": "play", "file": "beep.wav", "repeat": 2, "pause_ms": 0}])
    before = setup.leg.phone.packets_received
    await asyncio.wait_for(setup.runner().run(flow), 5)
    # ten frames of the prompt, plus the silence the channel sends between prompts
    await until(lambda: setup.leg.phone.packets_received - before >= 10)


async def test_dial_gives_the_channel_away_and_takes_it_back(setup: Setup) -> None:
    flow = parse_flow(
        [
            {"type": "dial", "number": "102", "timeout": 12},
            {"type": "set_result", "value": "after dial"},
        ]
    )
    state = await asyncio.wait_for(setup.runner().run(flow), 5)
    assert setup.connected == [("102", 12, False)]
    assert state.result == "after dial" and setup.media.active and not state.transferred


async def test_an_answered_transfer_ends_the_flow_for_good(setup: Setup) -> None:
    flow = parse_flow(
        [{"type": "transfer", "number": "+15550100"}, {"type": "set_result", "value": "x"}]
    )
    state = await asyncio.wait_for(setup.runner().run(flow), 5)
    assert setup.connected == [("+15550100", 30.0, False)]
    assert state.transferred and state.result is None
    assert not setup.media.active  # the flow's audio is not taken back once transferred


async def test_an_unanswered_transfer_carries_on(setup: Setup) -> None:
    setup.answer = False
    flow = parse_flow([{"type": "transfer", "number": "103"}, {"type": "set_result", "value": "x"}])
    state = await asyncio.wait_for(setup.runner().run(flow), 5)
    assert not state.transferred and state.result == "x" and setup.media.active


async def test_record_keeps_the_callers_audio_until_the_finish_key(setup: Setup) -> None:
    flow = parse_flow([{"type": "record", "max_seconds": 5, "finish_on_key": "#"}])
    running = asyncio.ensure_future(setup.runner().run(flow))
    for n in range(10):
        setup.leg.phone.write_frame(tone(n))
        await asyncio.sleep(0.02)
    setup.leg.phone.send_dtmf("#")
    state = await asyncio.wait_for(running, 5)
    assert state.recordings == ["req42-message1.wav"]
    data = (setup.recordings / "req42-message1.wav").read_bytes()
    samples = np.frombuffer(data[44:], dtype=np.int16)
    assert len(samples) >= 5 * 160 and np.abs(samples).max() > 1000


async def test_the_flow_stops_when_the_caller_hangs_up(setup: Setup) -> None:
    flow = parse_flow([{"type": "pause", "seconds": 30}, {"type": "set_result", "value": "x"}])
    running = asyncio.ensure_future(setup.runner().run(flow))
    await asyncio.sleep(0.05)
    setup.leg.channel.failed("caller hung up", 0)
    state = await asyncio.wait_for(running, 2)
    assert state.result is None and setup.leg.channel.state == ChannelState.HUNGUP


MENU = {
    "type": "menu",
    "prompt": {"type": "play", "file": "beep.wav"},
    "options": {
        "1": [{"type": "set_result", "value": "sales"}],
        "2": "ring_group:support",
    },
    "timeout": 0.3,
    "retries": 1,
    "invalid": [{"type": "set_result", "value": "invalid"}, {"type": "hangup"}],
    "no_input": [{"type": "set_result", "value": "silence"}],
}


async def test_menu_runs_the_option_of_the_key(setup: Setup) -> None:
    running = asyncio.ensure_future(setup.runner().run(parse_flow([MENU])))
    await asyncio.sleep(0.05)
    setup.leg.phone.send_dtmf("1")
    state = await asyncio.wait_for(running, 5)
    assert state.result == "sales"


async def test_menu_retries_then_takes_the_invalid_branch(setup: Setup) -> None:
    flow = parse_flow([MENU, {"type": "set_result", "value": "after the menu"}])
    running = asyncio.ensure_future(setup.runner().run(flow))
    for _ in range(2):  # a wrong key on the first try and on the retry
        await asyncio.sleep(0.1)
        setup.leg.phone.send_dtmf("7")
    state = await asyncio.wait_for(running, 5)
    assert state.result == "invalid"  # and the invalid branch hung up: nothing after it


async def test_menu_without_a_key_takes_no_input_and_goes_on(setup: Setup) -> None:
    flow = parse_flow([MENU, {"type": "report", "header": "next", "value": "x"}])
    state = await asyncio.wait_for(setup.runner().run(flow), 5)
    assert state.result == "silence" and state.report_data == [("next", "x", 0)]


async def test_menu_option_destination_is_routed_and_ends_the_flow(setup: Setup) -> None:
    routed: list[tuple[str, bool]] = []

    async def route(channel: Channel, destination, timeout: float) -> None:
        routed.append((str(destination), setup.media.active))

    runner = setup.runner()
    runner.route = route
    flow = parse_flow([MENU, {"type": "set_result", "value": "not reached"}])
    running = asyncio.ensure_future(runner.run(flow))
    await asyncio.sleep(0.05)
    setup.leg.phone.send_dtmf("2")
    state = await asyncio.wait_for(running, 5)
    assert routed == [("ring_group:support", False)]  # the flow's audio let go first
    assert state.transferred and state.result is None


async def test_route_without_a_router_connects_extensions(setup: Setup) -> None:
    flow = parse_flow([{"type": "route", "to": "extension:101", "timeout": 12}])
    state = await asyncio.wait_for(setup.runner().run(flow), 5)
    assert setup.connected == [("101", 12, False)] and state.transferred


async def test_hours_step_branches_on_the_runners_clock(setup: Setup) -> None:
    import datetime as dt

    flow = parse_flow(
        [
            {
                "type": "hours",
                "hours": {
                    "time_zone": "Europe/Berlin",
                    "open": [{"days": ["mon"], "start": "09:00", "end": "17:00"}],
                },
                "open": [{"type": "set_result", "value": "open"}],
                "closed": [{"type": "set_result", "value": "closed"}],
            }
        ]
    )
    monday_10_berlin = dt.datetime(2026, 1, 12, 9, 0, tzinfo=dt.UTC)
    for when, expected in (
        (monday_10_berlin, "open"),
        (monday_10_berlin.replace(hour=16), "closed"),
    ):
        runner = setup.runner()
        runner.now = lambda when=when: when
        state = await asyncio.wait_for(runner.run(flow), 5)
        assert state.result == expected


async def test_a_caller_hanging_up_after_a_route_lets_the_destination_finish(
    setup: Setup,
) -> None:
    """A routed call belongs to its destination: the caller's hang-up is its business (a
    voicemail keeps the message the caller ended by hanging up), not the flow's to cut."""
    finished: list[str] = []

    async def route(channel: Channel, destination, timeout: float) -> None:
        await channel.hungup
        await asyncio.sleep(0.05)  # what a destination does after the hang-up
        finished.append(str(destination))

    runner = setup.runner()
    runner.route = route
    running = asyncio.ensure_future(runner.run(parse_flow([MENU])))
    await asyncio.sleep(0.05)
    setup.leg.phone.send_dtmf("2")
    await until(lambda: not setup.media.active)  # routed
    setup.leg.channel.failed("caller hung up", 0)
    state = await asyncio.wait_for(running, 5)
    assert finished == ["ring_group:support"] and state.transferred


async def test_a_message_left_in_voicemail_through_a_route_is_kept(
    setup: Setup, tmp_path: Path
) -> None:
    """The office's IVR sends the caller to a box; the caller talks after the beep and
    hangs up, which ends the message: it is kept with the caller's audio."""
    greeting = tmp_path / "greeting.wav"
    upload(tmp_path, "greeting.wav", 5)
    config = from_dict(
        {
            "voicemail": {"dir": str(tmp_path / "vm")},
            "extensions": [
                {
                    "number": "102",
                    "password": "p",
                    "voicemail": True,
                    "greeting_file": str(greeting),
                }
            ],
        },
        {},
    )
    store = VoicemailStore(Store(":memory:").db)
    voicemail = Voicemail(config, store, Tts(tmp_path / "tts"), setup.media.clock)

    async def route(channel: Channel, destination, timeout: float) -> None:
        await voicemail.take_message(channel, destination.target)

    runner = setup.runner()
    runner.route = route
    flow = parse_flow([{"type": "route", "to": "voicemail:102"}])
    running = asyncio.ensure_future(runner.run(flow))
    # greeting (0.1 s) and beep, then one second of the caller's voice
    for _ in range(75):
        setup.leg.phone.write_frame(tone(1))
        await asyncio.sleep(0.02)
    setup.leg.channel.failed("caller hung up", 0)
    await asyncio.wait_for(running, 5)
    [message] = store.messages("102", None)
    assert message.duration >= 0.5
    data = (voicemail.boxes.get("102").folder / message.file).read_bytes()
    assert np.abs(np.frombuffer(data[44:], dtype=np.int16)).max() > 1000


async def test_a_message_cut_by_a_shutdown_is_kept(setup: Setup, tmp_path: Path) -> None:
    """The switch stopping mid-message cancels the deposit: what the caller said so far is
    still a message in the box, not a WAV file no list shows."""
    greeting = tmp_path / "greeting.wav"
    upload(tmp_path, "greeting.wav", 5)
    config = from_dict(
        {
            "voicemail": {"dir": str(tmp_path / "vm")},
            "extensions": [
                {
                    "number": "102",
                    "password": "p",
                    "voicemail": True,
                    "greeting_file": str(greeting),
                }
            ],
        },
        {},
    )
    store = VoicemailStore(Store(":memory:").db)
    voicemail = Voicemail(config, store, Tts(tmp_path / "tts"), setup.media.clock)
    setup.media.stop()  # the box plays and listens on the channel itself
    taking = asyncio.ensure_future(voicemail.take_message(setup.leg.channel, "102"))
    for _ in range(75):  # greeting (0.1 s) and beep, then a second of the caller's voice
        setup.leg.phone.write_frame(tone(1))
        await asyncio.sleep(0.02)
    taking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await taking
    [message] = store.messages("102", None)
    assert message.duration >= 0.5
    folder = voicemail.boxes.get("102").folder
    assert [p.name for p in folder.glob("*.wav") if p.name != "greeting.wav"] == [message.file]
