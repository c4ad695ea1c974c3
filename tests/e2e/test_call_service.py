"""The call service with real phones: click2call, flows, transfers, CDRs and recordings."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from softswitch.calls import CallAction
from softswitch.flowmodel import parse_flow
from tests.e2e.phones import registered
from tests.peers.audio import dominant_frequency, read_wav
from tests.peers.baresip import BaresipAccount
from tests.peers.process import wait_until
from tests.peers.sipp import start_sipp
from tests.switch_harness import ip_trunk

pytestmark = pytest.mark.peers

ACCOUNT = "account_1"


def cdrs(harness, request_id: str):
    return harness.call(harness.runtime.cdrs.by_request_id, ACCOUNT, request_id)


def wait_cdr(harness, request_id: str, timeout: float = 15.0):
    wait_until(lambda: cdrs(harness, request_id), timeout, what="CDR written")
    return cdrs(harness, request_id)[0]


def test_click2call_rings_agent_first_bridges_and_records_both_legs(server_factory, phone_factory):
    harness = server_factory(extensions={"101": "pw101", "102": "pw102", "103": "pw103"})
    agent = registered(phone_factory, harness, "101", 440.0)
    customer = registered(phone_factory, harness, "102", 1000.0)
    request_id = harness.run(
        harness.calls.click2call(
            account_id=ACCOUNT,
            agent_number="101",
            destination_number="102",
            caller_id="15168148111",
            recording_option="both",
        )
    )
    assert len(request_id) == 10
    agent.wait_call_established()
    # the destination is dialed only once the agent has answered
    assert agent.events_of("established")[0].at < customer.wait_call_established().at
    assert harness.call(harness.calls.live_statistics, ACCOUNT).c2c == 1
    assert harness.call(harness.calls.live_statistics, "account_2").c2c == 0
    rows = harness.call(harness.calls.live_calls, ACCOUNT)
    assert {r.channel.split("-")[0] for r in rows} == {"SIP/101", "SIP/102"}
    assert all(r.bridged_channel for r in rows)
    time.sleep(3)
    customer.hangup()
    agent.wait_call_closed()
    cdr = wait_cdr(harness, request_id)
    assert (cdr.dial_status, cdr.call_status) == ("ANSWER", "ANSWERED")
    assert cdr.destination_context == "click2call" and cdr.call_direction == "outbound-api"
    assert (cdr.agent_number, cdr.customer_number, cdr.caller_id) == ("101", "102", "15168148111")
    assert 2.5 < cdr.billsec < 5 and cdr.call_duration >= cdr.billsec
    rec = harness.config.media.recordings_dir
    mixed = Path(rec) / ACCOUNT / cdr.recording_name
    agent_leg = mixed.with_name(mixed.stem + "-agent.wav")
    customer_leg = mixed.with_name(mixed.stem + "-customer.wav")
    for path in (mixed, agent_leg, customer_leg):
        samples, rate = read_wav(path)
        assert rate == 8000
        assert abs(len(samples) / rate - cdr.billsec) < 0.3, path
    assert abs(dominant_frequency(agent_leg) - 440) < 15
    assert abs(dominant_frequency(customer_leg) - 1000) < 15


def test_click2call_busy_destination_gives_busy_dial_status(server_factory, phone_factory):
    harness = server_factory()
    agent = registered(phone_factory, harness, "101", 440.0)
    busy = registered(phone_factory, harness, "102", 1000.0, answermode="manual")
    request_id = harness.run(
        harness.calls.click2call(
            account_id=ACCOUNT, agent_number="101", destination_number="102", caller_id="555"
        )
    )
    agent.wait_call_established()
    busy.wait_incoming()
    busy.command("/hangup")  # baresip rejects a ringing call with 486 Busy Here
    agent.wait_call_closed()
    cdr = wait_cdr(harness, request_id)
    assert (cdr.dial_status, cdr.call_status) == ("BUSY", "BUSY")
    assert cdr.answer is None


def test_click2call_unregistered_agent_is_chanunavail(server_factory):
    harness = server_factory()
    request_id = harness.run(
        harness.calls.click2call(
            account_id=ACCOUNT, agent_number="101", destination_number="102", caller_id="555"
        )
    )
    cdr = wait_cdr(harness, request_id)
    assert cdr.dial_status == "CHANUNAVAIL"


def test_flow_call_gathers_a_digit_and_reports(server_factory, phone_factory):
    harness = server_factory()
    callee = registered(phone_factory, harness, "102", 440.0)
    flow = parse_flow(
        [
            {
                "type": "gather",
                "num_digits": 1,
                "timeout": 8,
                "prompt": {"type": "say", "text": "Hello {name}. Press one to confirm."},
                "branches": {
                    "1": [
                        {"type": "set_result", "value": "confirmed"},
                        {"type": "report", "header": "Choice", "value": "{digits}", "order": 1},
                    ]
                },
                "default": [{"type": "set_result", "value": "no answer"}],
            },
            {"type": "say", "text": "Thank you"},
        ]
    )

    async def dial():
        return await harness.calls.dial_flow(
            account_id=ACCOUNT,
            number="102",
            caller_id="555",
            flow=flow,
            variables={"name": "Ann"},
            request_id="abcdef0123",
            context="otp",
            direction="outbound-api",
        )

    result = asyncio.run_coroutine_threadsafe(dial(), harness.loop)
    callee.wait_call_established()
    time.sleep(1.0)
    callee.send_dtmf("1")
    outcome = result.result(40)
    assert outcome.answered and outcome.result == "confirmed"
    assert outcome.report_data == [("Choice", "1", 1)]
    callee.wait_call_closed()
    cdr = wait_cdr(harness, "abcdef0123")
    assert cdr.dtmf_inputs == "1" and cdr.dial_status == "ANSWER"


def test_blind_transfer_moves_the_customer_to_another_extension(server_factory, phone_factory):
    harness = server_factory(extensions={"101": "pw101", "102": "pw102", "103": "pw103"})
    agent = registered(phone_factory, harness, "101", 440.0)
    customer = registered(phone_factory, harness, "102", 1000.0)
    other = registered(phone_factory, harness, "103", 700.0)
    request_id = harness.run(
        harness.calls.click2call(
            account_id=ACCOUNT, agent_number="101", destination_number="102", caller_id="555"
        )
    )
    agent.wait_call_established()
    customer.wait_call_established()
    rows = harness.call(harness.calls.live_calls, ACCOUNT)
    agent_channel = next(r.channel for r in rows if r.channel.startswith("SIP/101-"))
    harness.run(harness.calls.modify_call(ACCOUNT, agent_channel, CallAction.BLIND_TRANSFER, "103"))
    agent.wait_call_closed()
    other.wait_call_established()
    time.sleep(2.5)
    other.hangup()
    customer.wait_call_closed()
    # what the customer heard after the transfer is the new party's tone
    heard = customer.last_recording()
    samples, rate = read_wav(heard)
    assert abs(dominant_frequency(samples[-rate * 2 :], rate) - 700) < 15
    assert wait_cdr(harness, request_id).dial_status == "ANSWER"


def test_click2call_transcript_is_added_to_the_cdr_after_the_call(
    server_factory, phone_factory, tmp_path
):
    import subprocess

    from media.prompt import load_audio
    from tests.peers.audio import write_wav

    harness = server_factory()
    speech = tmp_path / "agent.wav"
    subprocess.run(
        [
            "flite",
            "-voice",
            "rms",
            "-t",
            "one two three four five six seven eight",
            "-o",
            str(speech),
        ],
        check=True,
    )
    said = load_audio(speech)
    wav = write_wav(
        tmp_path / "agent8k.wav",
        np.concatenate([np.zeros(8000, dtype=np.int16), said, np.zeros(8000 * 30, dtype=np.int16)]),
    )
    agent = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{harness.config.sip_host_port[1]}"),
        wav=wav,
    )
    agent.wait_registered()
    customer = registered(phone_factory, harness, "102", 0.0)
    request_id = harness.run(
        harness.calls.click2call(
            account_id=ACCOUNT,
            agent_number="101",
            destination_number="102",
            caller_id="555",
            transcript=True,
        )
    )
    customer.wait_call_established()
    time.sleep(len(said) / 8000 + 2.0)
    customer.hangup()
    agent.wait_call_closed()
    cdr = wait_cdr(harness, request_id)
    assert cdr.recording_name == ""  # recording_option off: nothing kept for download
    transcript = wait_until(
        lambda: harness.call(harness.runtime.cdrs.get, cdr.id).transcript, 60, what="transcript"
    )
    agent_line = next(line for line in transcript.splitlines() if line.startswith("agent:"))
    words = {"one", "two", "three", "four", "five", "six", "seven", "eight"}
    assert len(words & set(agent_line.split())) >= 4, transcript
    # the audio was recorded only to be transcribed: it is not kept
    recordings = Path(harness.config.media.recordings_dir) / ACCOUNT
    wait_until(lambda: not list(recordings.glob("*.wav")), 10, what="audio removed")


def test_recording_started_mid_call_is_stereo_agent_left(server_factory, phone_factory):
    import wave

    harness = server_factory(media={"stereo_recordings": True})
    agent = registered(phone_factory, harness, "101", 440.0)
    customer = registered(phone_factory, harness, "102", 1000.0)
    request_id = harness.run(
        harness.calls.click2call(
            account_id=ACCOUNT, agent_number="101", destination_number="102", caller_id="555"
        )
    )
    customer.wait_call_established()
    time.sleep(1.5)  # not recorded: the recording starts only when asked
    rows = harness.call(harness.calls.live_calls, ACCOUNT)
    channel = next(r.channel for r in rows if r.channel.startswith("SIP/102-"))
    harness.run(harness.calls.modify_call(ACCOUNT, channel, CallAction.START_RECORDING))
    started = time.monotonic()
    time.sleep(2.5)
    agent.hangup()
    recorded_for = time.monotonic() - started
    customer.wait_call_closed()
    cdr = wait_cdr(harness, request_id)
    path = Path(harness.config.media.recordings_dir) / ACCOUNT / cdr.recording_name
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 8000
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).reshape(-1, 2)
    assert abs(len(frames) / 8000 - recorded_for) < 0.3
    assert abs(dominant_frequency(frames[:, 0].copy(), 8000) - 440) < 15
    assert abs(dominant_frequency(frames[:, 1].copy(), 8000) - 1000) < 15


def test_a_customer_who_stops_sending_rtp_is_hung_up_with_the_cause_in_the_cdr(
    tmp_path, ports, server_factory, phone_factory
):
    # the customer, across the carrier, answers and then sends no RTP (no -rtp_echo)
    far = start_sipp(tmp_path, "uas_answer.xml", port=ports.port(), calls=1, timeout=20)
    harness = server_factory(
        trunks=[ip_trunk("carrier", far.port)],
        rtp={"timeout": 2},
    )
    agent = registered(phone_factory, harness, "101", 440.0)
    request_id = harness.run(
        harness.calls.click2call(
            account_id=ACCOUNT, agent_number="101", destination_number="5550001", caller_id="555"
        )
    )
    agent.wait_call_established()
    closed = agent.wait_call_closed(timeout=15)  # our BYE to the agent
    assert closed.reason is not None and "audio error" not in closed.reason, closed
    assert far.wait().ok  # and to the customer
    cdr = wait_cdr(harness, request_id)
    assert (cdr.dial_status, cdr.call_status) == ("ANSWER", "ANSWERED")
    assert cdr.hangup_cause == "rtp timeout"
    assert 1.5 <= cdr.billsec <= 6, cdr.billsec
